package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// The scenarios of internal/storetest, run against the memory store (internal/redisstore runs
// them against Redis and a Redis Cluster), with the checks of the per-user index only the
// memory store can make.

// newMemory is a memory store on a fake clock.
func newMemory(t testing.TB) (*store.Store, *storetest.FakeClock) {
	t.Helper()
	m, err := crypto.NewMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewFakeClock(1_700_000_000_000)
	return store.New(store.Options{Master: m, Clock: clock}), clock
}

func memory(t *testing.T, f func(t *testing.T, e *storetest.Env, s storetest.Backend, clock *storetest.FakeClock)) {
	s, clock := newMemory(t)
	e := &storetest.Env{
		Open:       func() storetest.Backend { return s },
		Goroutines: 1000,
		IndexSize:  func(sandbox []byte) int { return store.IndexSize(s, sandbox) },
		CheckIndex: func(t testing.TB, sandbox []byte) { store.CheckIndexExact(t, s, sandbox) },
	}
	f(t, e, s, clock)
}

// TestConformance runs every storetest scenario (as a subtest) against the memory store.
func TestConformance(t *testing.T) { storetest.RunAll(t, memory) }

var sbA = []byte("sessions")

// TestKVScanExactlyOnce: on top of storetest.KVScan, the memory store returns every key exactly
// once when nothing changes, never lists an expired key, and pages through a larger keyspace.
func TestKVScanExactlyOnce(t *testing.T) {
	s, clock := newMemory(t)
	var want []string
	for i := 0; i < 2500; i++ {
		name := fmt.Sprintf("user:%04d", i)
		want = append(want, name)
		s.KVSet(session.NoDeadline, sbA, []byte(name), []byte("v"), 10_000)
		s.KVSet(session.NoDeadline, sbA, []byte(fmt.Sprintf("job:%04d", i)), []byte("v"), 10_000)
	}
	s.KVSet(session.NoDeadline, sbA, []byte("user:short-lived"), []byte("v"), 5)

	t.Run("every key exactly once when nothing changes", func(t *testing.T) {
		clock.Advance(5) // user:short-lived has expired: never listed
		got := storetest.ScanAll(t, s, sbA, "user:", 97, nil)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("scan returned %d names, want %d", len(got), len(want))
		}
	})
	t.Run("empty prefix lists everything, limit 1 works", func(t *testing.T) {
		s2, _ := newMemory(t)
		for i := 0; i < 20; i++ {
			s2.KVSet(session.NoDeadline, sbA, []byte{byte('a' + i)}, nil, 1000)
		}
		got := storetest.ScanAll(t, s2, sbA, "", 1, nil)
		if len(got) != 20 {
			t.Fatalf("got %d", len(got))
		}
	})
}
