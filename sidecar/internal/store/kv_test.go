package store

import (
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func TestValidSandboxName(t *testing.T) {
	for _, name := range []string{"a", "A.b_c:d-9", strings.Repeat("x", 64)} {
		if !session.ValidSandboxName([]byte(name)) {
			t.Errorf("%q rejected", name)
		}
	}
	for _, name := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "é", "a\x00", "a*"} {
		if session.ValidSandboxName([]byte(name)) {
			t.Errorf("%q accepted", name)
		}
	}
}

func TestMaxValueSizeConfigurable(t *testing.T) {
	s, _ := newTestStore(t)
	s.maxValue = 10
	if _, err := s.KVSet(noDL, sbA, []byte("k"), make([]byte, 10), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVSet(noDL, sbA, []byte("k"), make([]byte, 11), 1000); errCode(err) != xerr.ValueTooLarge {
		t.Fatal("11 bytes accepted with maxValueSize 10")
	}
}

// TestKVExactTimesAndStats: what only the memory store can promise on top of
// storetest.KVOperations: exact expiry times on a fake clock, a shortened ttl, and the stats.
func TestKVExactTimesAndStats(t *testing.T) {
	s, clock := newTestStore(t)
	k := []byte("user:1")
	if _, _, found, err := s.KVGet([]byte("nosuch"), k, nil); found || err != nil {
		t.Fatal("found in a sandbox never written")
	}
	if st := s.Stats(); len(st.Sandboxes) != 0 {
		t.Fatal("a read created a sandbox")
	}
	exp, err := s.KVSet(noDL, sbA, k, []byte("v1"), 5000)
	if err != nil || exp != clock.NowMs()+5000 {
		t.Fatalf("set: %d %v", exp, err)
	}
	if _, gexp, found, err := s.KVGet(sbA, k, nil); err != nil || !found || gexp != exp {
		t.Fatalf("get: %d (set said %d) %v %v", gexp, exp, found, err)
	}
	clock.Advance(1000)
	if rem, found, _ := s.KVTTL(sbA, k); !found || rem != 4000 {
		t.Fatalf("ttl = %d %v", rem, found)
	}
	// A shorter touch shortens too.
	exp, _, _ = s.KVTouch(noDL, sbA, k, 10)
	clock.Advance(10)
	if _, _, found, _ := s.KVGet(sbA, k, nil); found {
		t.Fatalf("found after a shortened ttl expired (exp %d now %d)", exp, clock.NowMs())
	}
	s.KVSet(noDL, sbA, k, []byte("v"), 5000)
	mustCreate(t, s, sbA, "d", 5000, 0, "user")
	if n, err := s.Clear(noDL, sbA); err != nil || n != 2 {
		t.Fatalf("clear removed %d, %v", n, err)
	}
	if st := s.Stats().Sandboxes["sessions"]; st.KV != 0 || st.Sessions != 0 || st.Bytes != 0 {
		t.Fatalf("stats after clear: %+v", st)
	}
}

func TestKVStatsBytes(t *testing.T) {
	s, _ := newTestStore(t)
	s.KVSet(noDL, sbA, []byte("k"), make([]byte, 100), 1000)
	st := s.Stats().Sandboxes[string(sbA)]
	if st.KV != 1 || st.Bytes != int64(100+1+2+28) {
		t.Fatalf("stats %+v", st)
	}
	s.KVSet(noDL, sbA, []byte("k"), make([]byte, 10), 1000)
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != int64(10+1+2+28) {
		t.Fatalf("bytes after overwrite %+v", st)
	}
	s.KVDel(noDL, sbA, []byte("k"))
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != 0 || st.KV != 0 {
		t.Fatalf("after del %+v", st)
	}
}
