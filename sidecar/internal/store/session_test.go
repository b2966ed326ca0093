package store

import (
	"bytes"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// TestUpdateStatsBytes: an update can grow the data and the stats bytes follow (the rest of
// S_UPDATE is in storetest.Update).
func TestUpdateStatsBytes(t *testing.T) {
	s, clock := newTestStore(t)
	g0, err := storetest.SessionCreate(s, sbA, []byte("v0"), 60_000, 10_000, []byte("u"), []byte("the-meta"))
	if err != nil {
		t.Fatal(err)
	}
	g1 := resolve(t, s, sbA, g0.Token[:], true, 2000)
	clock.Advance(session.DefaultGraceMs)
	storetest.SessionUpdate(s, sbA, g1.Token[:], make([]byte, 1000))
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != int64(1000+len("the-meta")+4+28) {
		t.Fatalf("bytes %d", st.Bytes)
	}
}

// TestSessionIDsAreSandboxSpecific: the session id (a keyed hash) differs between sandboxes for
// the same sid (the rest is storetest.TokensDoNotCrossSandboxes).
func TestSessionIDsAreSandboxSpecific(t *testing.T) {
	s, _ := newTestStore(t)
	res := mustCreate(t, s, sbA, "d", 60_000, 0, "u")
	mustCreate(t, s, sbB, "d", 60_000, 0, "u")
	sbx, _ := s.sandboxFor(sbB, false)
	tk, _ := crypto.ParseToken(res.Token[:])
	if sbx.keys.SIDKey(&tk.SID) == res.SessionID {
		t.Fatal("session ids are not sandbox-specific")
	}
}

func TestSealedRecordsFailWhenTamperedOrMoved(t *testing.T) {
	s, _ := newTestStore(t)
	s.KVSet(noDL, sbA, []byte("one"), []byte("value one"), 60_000)
	s.KVSet(noDL, sbA, []byte("two"), []byte("value two"), 60_000)
	s.KVSet(noDL, sbB, []byte("one"), []byte("value bbb"), 60_000)
	a, _ := s.sandboxFor(sbA, false)
	b, _ := s.sandboxFor(sbB, false)
	sealedOf := func(sb *sandbox, name string) []byte {
		k := sb.keys.KVKey([]byte(name))
		sh := sb.shard(&k)
		return kvRec(sh.mem.rec(sh.kv[k])).sealed()
	}
	one, two, bOne := sealedOf(a, "one"), sealedOf(a, "two"), sealedOf(b, "one")
	orig := bytes.Clone(one)
	for i := range orig {
		one[i] ^= 0x01
		if _, _, found, err := s.KVGet(sbA, []byte("one"), nil); found || err == nil {
			t.Fatalf("flipping byte %d: found=%v err=%v", i, found, err)
		}
		one[i] ^= 0x01
	}
	if v, _, _, _ := s.KVGet(sbA, []byte("one"), nil); string(v) != "value one" {
		t.Fatal("restored record does not open")
	}
	// Swap ciphertexts (same sizes) between keys of a sandbox, and between sandboxes.
	swap := func(x, y []byte) {
		tmp := bytes.Clone(x)
		copy(x, y)
		copy(y, tmp)
	}
	swap(one, two)
	if _, _, found, _ := s.KVGet(sbA, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another key opened")
	}
	swap(one, two)
	if len(one) != len(bOne) {
		t.Fatal("test setup: sizes differ")
	}
	swap(one, bOne)
	if _, _, found, _ := s.KVGet(sbA, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another sandbox opened")
	}
	if _, _, found, _ := s.KVGet(sbB, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another sandbox opened")
	}
	swap(one, bOne)
	// A session record's ciphertext moved into a KV record (another kind) does not open either.
	sess := mustCreate(t, s, sbA, "0123456789", 60_000, 0, "") // same plaintext size as KV "two"
	sh := a.shard(&sess.SessionID)
	ssealed := sessRec(sh.mem.rec(sh.sess[sess.SessionID])).sealed()
	if len(ssealed) == len(two) {
		swap(two, ssealed)
		if _, _, found, _ := s.KVGet(sbA, []byte("two"), nil); found {
			t.Fatal("a session ciphertext opened as a KV record")
		}
		swap(two, ssealed)
	} else {
		t.Fatalf("test setup: session sealed %d bytes, kv %d", len(ssealed), len(two))
	}
	// Tampering a session record: resolve fails with an error, never returns data.
	ssealed[len(ssealed)-1] ^= 0x80
	if r, err := storetest.SessionResolve(s, sbA, sess.Token[:], false, 2000, 0, nil); err == nil || r.Status == session.OK {
		t.Fatal("a tampered session resolved")
	}
}

// TestNoPlaintextInMemory plants a marker in every input the store receives and searches the
// store's structures, byte by byte, for it and for the tokens it issued.
func TestNoPlaintextInMemory(t *testing.T) {
	s, _ := newTestStore(t)
	marker := []byte("MARKER-7f3a9c1e-")
	withMarker := func(what string) []byte { return append(append([]byte{}, marker...), what...) }
	var tokens [][]byte
	for i := 0; i < 50; i++ {
		s.KVSet(noDL, sbA, withMarker("key"), withMarker("value"), 60_000)
		s.KVSet(noDL, sbA, append(withMarker("key-"), byte(i)), withMarker("value"), 60_000)
		res, err := storetest.SessionCreate(s, sbA, withMarker("data"), 60_000, 1000, withMarker("user"), withMarker("meta"))
		if err != nil {
			t.Fatal(err)
		}
		r := resolve(t, s, sbA, res.Token[:], true, 2000) // a rotation leaves a grace entry
		storetest.SessionUpdate(s, sbA, r.Token[:], withMarker("updated"))
		s.SessionList(sbA, withMarker("user"))
		// Bound sessions keep only keyed hashes of the client's address and user agent; the
		// CSRF token is derived, never stored; a regenerated session leaves nothing behind.
		bound, err := s.SessionCreate(noDL, sbA, withMarker("data"), session.CreateOptions{TTLMs: 60_000, UserID: withMarker("user"),
			Bind: session.BindIPExact | session.BindAgent, IP: withMarker("ip"), UserAgent: withMarker("agent")})
		if err != nil {
			t.Fatal(err)
		}
		s.SessionResolve(noDL, sbA, bound.Token[:], session.ResolveOptions{WantCSRF: true, CheckBinding: true, OnMismatch: session.MismatchLog, IP: withMarker("ip2"), UserAgent: withMarker("agent2")}, nil)
		g, _ := s.SessionRegenerate(noDL, sbA, bound.Token[:], 2000, true, nil, nil)
		tokens = append(tokens, bound.CSRF[:], g.CSRF[:])
		for _, tok := range [][]byte{res.Token[:], r.Token[:], bound.Token[:], g.Token[:]} {
			raw, _ := crypto.ParseToken(tok)
			tokens = append(tokens, bytes.Clone(tok), raw.SID[:], raw.Secret[:])
		}
	}
	s.KVScan(sbA, marker, nil, 1000)
	dump := dumpMemory(s)
	if len(dump) < 50*300 {
		t.Fatalf("the walker saw only %d bytes: it is not reaching the records", len(dump))
	}
	if found := containsAny(dump, append([][]byte{marker, []byte("7f3a9c1e")}, tokens...)...); found != nil {
		t.Fatalf("found %q in the store's memory", found)
	}
	// Self-check of the walker: a marker placed in a record blob is found.
	a, _ := s.sandboxFor(sbA, false)
	for i := range a.shards {
		for _, l := range a.shards[i].kv {
			copy(kvRec(a.shards[i].mem.rec(l)).sealed(), marker)
			if !bytes.Contains(dumpMemory(s), marker) {
				t.Fatal("the walker does not see record blobs")
			}
			return
		}
	}
}
