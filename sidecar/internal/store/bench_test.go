package store

import (
	"encoding/binary"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// Benchmarks over 1 M records (BENCH_RECORDS overrides it for quick runs). Run with:
//
//	go test -run '^$' -bench . -benchtime 2000000x ./internal/store
//
// Setup (creating the records) happens before b.Loop and is not timed.

const benchRecords = 1_000_000

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = binary.BigEndian.AppendUint64([]byte("key:"), uint64(i))
	}
	return keys
}

func BenchmarkKVSet(b *testing.B) {
	s, _ := newTestStore(b)
	keys := benchKeys(benchRecords)
	value := make([]byte, 256)
	for _, k := range keys {
		s.KVSet(noDL, sbA, k, value, session.MaxTTLMs)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.KVSet(noDL, sbA, keys[i%len(keys)], value, session.MaxTTLMs); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkKVGet(b *testing.B) {
	s, _ := newTestStore(b)
	keys := benchKeys(benchRecords)
	value := make([]byte, 256)
	for _, k := range keys {
		s.KVSet(noDL, sbA, k, value, session.MaxTTLMs)
	}
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, found, _ := s.KVGet(sbA, keys[i%len(keys)], dst[:0]); !found {
			b.Fatal("not found")
		}
		i++
	}
}

func benchSessions(b *testing.B) (*Store, [][70]byte) {
	s, _ := newTestStore(b)
	data := make([]byte, 256)
	tokens := make([][70]byte, benchRecords)
	for i := range tokens {
		res, err := storetest.SessionCreate(s, sbA, data, session.MaxTTLMs, 0, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = res.Token
	}
	return s, tokens
}

func BenchmarkSessionResolve(b *testing.B) {
	s, tokens := benchSessions(b)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r, _ := storetest.SessionResolve(s, sbA, tokens[i%len(tokens)][:], false, 2000, 0, dst[:0])
		if r.Status != session.OK {
			b.Fatal("not found")
		}
		i++
	}
}

func BenchmarkSessionResolveRotate(b *testing.B) {
	s, tokens := benchSessions(b)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i % len(tokens)
		r, _ := storetest.SessionResolve(s, sbA, tokens[j][:], true, 2000, 0, dst[:0])
		if r.Status != session.OK || !r.Rotated {
			b.Fatal("did not rotate")
		}
		tokens[j] = r.Token
		i++
	}
}

func BenchmarkSessionCreate(b *testing.B) {
	s, _ := newTestStore(b)
	data := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := storetest.SessionCreate(s, sbA, data, session.MaxTTLMs, 0, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
