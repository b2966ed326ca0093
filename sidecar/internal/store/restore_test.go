package store

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// Loading the vault: RestorePut keeps the rotation state (first presentations included),
// drops what has expired, refuses malformed blobs, and reads blobs of the earlier layout.

func TestRestoreKeepsRotationStateAndDropsExpired(t *testing.T) {
	c := newFakeClock()
	s := newPersistStore(t, c)
	j := &memJournal{}
	s.SetJournal(j)
	sb := []byte("sessions")
	cr, _ := storetest.SessionCreate(s, sb, []byte("data"), 600_000, 0, nil, nil)
	t0 := cr.Token[:]
	c.Advance(100)
	r1, _ := storetest.SessionResolve(s, sb, t0, true, 5000, 0, nil)
	t1 := append([]byte(nil), r1.Token[:]...)
	c.Advance(100)
	r2, _ := storetest.SessionResolve(s, sb, t1, true, 5000, 0, nil)
	t2 := append([]byte(nil), r2.Token[:]...)
	s.KVSet(noDL, sb, []byte("short"), []byte("x"), 1000)
	s.KVSet(noDL, sb, []byte("long"), []byte("y"), 100_000)
	short, _ := storetest.SessionCreate(s, sb, []byte("short"), 500, 0, nil, nil)

	c.Advance(1000) // t0 superseded 1100 ms ago, t1 1000 ms ago: both inside a 5 s grace
	got := replay(t, c, j.entries)
	for _, tok := range [][]byte{t0, t1} {
		res, _ := storetest.SessionResolve(got, sb, tok, true, 5000, 0, nil)
		if res.Status != session.OK || res.Rotated || !bytes.Equal(res.Token[:], t2) {
			t.Fatalf("in-grace token after reload: status %v rotated %v", res.Status, res.Rotated)
		}
	}
	c.Advance(5000) // now outside the grace window: reuse, exactly as without a restart
	if res, _ := storetest.SessionResolve(got, sb, t0, true, 5000, 0, nil); res.Status != session.Reused {
		t.Fatalf("outdated token after reload: %v", res.Status)
	}
	if _, _, found, _ := got.KVGet(sb, []byte("short"), nil); found {
		t.Fatal("an expired KV record came back")
	}
	if _, _, found, _ := got.KVGet(sb, []byte("long"), nil); !found {
		t.Fatal("a live KV record was lost")
	}
	if res, _ := storetest.SessionResolve(got, sb, short.Token[:], false, 0, 0, nil); res.Status != session.NotFound {
		t.Fatal("an expired session came back")
	}
	// Loading skips what has expired by then.
	n := 0
	for _, e := range j.entries {
		if e.op == 'P' {
			if exp, _ := newPersistStore(t, c).RestorePut([]byte(e.sandbox), e.kind, &e.key, e.blob); exp {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("RestorePut reported no expired record")
	}
}

func TestRestoreRefusesMalformedBlobs(t *testing.T) {
	s := newPersistStore(t, newFakeClock())
	k := [16]byte{1}
	for _, blob := range [][]byte{nil, {0}, {5, 1, 2}, bytes.Repeat([]byte{0}, 10)} {
		for _, kind := range []uint8{kindKV, kindSess, 9} {
			if _, err := s.RestorePut([]byte("s"), kind, &k, blob); err == nil {
				t.Fatalf("kind %d blob %v accepted", kind, blob)
			}
		}
	}
	if _, err := s.RestorePut([]byte("bad/name"), kindKV, &k, make([]byte, 200)); err == nil {
		t.Fatal("invalid sandbox name accepted")
	}
}

func TestRestoreKeepsPresentations(t *testing.T) {
	c := newFakeClock()
	s := newPersistStore(t, c)
	j := &memJournal{}
	s.SetJournal(j)
	sb := []byte("sessions")
	lost := mustCreate(t, s, sb, "lost", 3_600_000, 0, "")
	lost1 := resolve(t, s, sb, lost.Token[:], true, 2000) // its answer never arrives
	used := mustCreate(t, s, sb, "used", 3_600_000, 0, "")
	used1 := resolve(t, s, sb, used.Token[:], true, 2000)
	c.Advance(700)
	resolve(t, s, sb, used1.Token[:], false, 2000) // used1's first presentation, no rotation

	c.Advance(1000)
	got := replay(t, c, j.entries)
	if r := resolve(t, got, sb, used.Token[:], false, 2000); r.Status != session.OK || r.Token != used1.Token {
		t.Fatalf("in grace of its successor's presentation, after a reload: %+v", r)
	}
	c.Advance(3_600_000 - 2000)
	got = replay(t, c, j.entries)
	if r := resolve(t, got, sb, lost.Token[:], true, 2000); r.Status != session.OK || r.Token != lost1.Token || r.Rotated {
		t.Fatalf("a lost answer, an hour and a reload later: %+v", r)
	}
	if r := resolve(t, got, sb, used.Token[:], false, 2000); r.Status != session.Reused {
		t.Fatalf("after grace, after a reload: %v", r.Status)
	}
}

func TestRestoreLegacyBlobs(t *testing.T) {
	c := newFakeClock()
	s := newPersistStore(t, c)
	j := &memJournal{}
	s.SetJournal(j)
	sb := []byte("sessions")
	start := c.NowMs()
	g0 := mustCreate(t, s, sb, "data", 600_000, 0, "u")
	c.Advance(100)
	g1 := resolve(t, s, sb, g0.Token[:], true, 2000) // g1 issued at +100
	c.Advance(100)
	g2 := resolve(t, s, sb, g1.Token[:], true, 2000) // g2 issued at +200
	last := j.entries[len(j.entries)-1]
	if last.op != 'P' || last.kind != kindSess {
		t.Fatal("setup: the last entry is not the session")
	}
	// The earlier layout: the same body without presented and prevPresented, then the issue
	// times the earlier store kept (g1's, at +100) and their count.
	body, _, legacy, ok := splitBlob(kindSess, last.blob)
	if !ok || legacy {
		t.Fatal("setup: the current blob does not split")
	}
	old := append(bytes.Clone(body[:sPresented-recHdr]), body[sLastSeen-recHdr:]...)
	old = binary.LittleEndian.AppendUint32(old, 100)
	old = append(old, 1)
	load := func(at int64) *Store {
		st := newPersistStore(t, storetest.NewFakeClock(start+at)) // a point in the session's life
		if _, err := st.RestorePut(sb, kindSess, &last.key, old); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if r := resolve(t, load(1000), sb, g1.Token[:], false, 2000); r.Status != session.OK || r.Token != g2.Token || string(r.Data) != "data" {
		t.Fatalf("g1 within grace of g2's issue: %+v", r)
	}
	if r := resolve(t, load(2199), sb, g1.Token[:], false, 2000); r.Status != session.OK {
		t.Fatalf("g1 1 ms before grace of g2's issue ends: %v", r.Status)
	}
	if r := resolve(t, load(2200), sb, g1.Token[:], false, 2000); r.Status != session.Reused {
		t.Fatalf("g1 grace after g2's issue: %v (the earlier rule: reuse)", r.Status)
	}
	if r := resolve(t, load(2100), sb, g0.Token[:], false, 2000); r.Status != session.Reused {
		t.Fatalf("g0 grace after g1's issue: %v", r.Status)
	}
	st := load(1000)
	if r := resolve(t, st, sb, g2.Token[:], true, 2000); r.Status != session.OK || !r.Rotated {
		t.Fatalf("the current token of a legacy session: %+v", r)
	}
	if l, _ := st.SessionList(sb, []byte("u")); len(l) != 1 {
		t.Fatal("the legacy session is not in its user's index")
	}
	if _, err := st.RestorePut(sb, kindSess, &last.key, append(bytes.Clone(old[:len(old)-1]), 33)); err == nil {
		t.Fatal("a legacy blob with 33 history entries was accepted")
	}
}
