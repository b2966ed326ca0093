package redisstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// The one-call resolve (recent.go, resolve_recent.go) with two Stores on one Redis: what each
// decides on a stale cached header, and the switch back to reading first when most entries are
// stale.

func twoStores(t *testing.T, clock session.Clock) (a, b *Store, la, lb *commandLog) {
	t.Helper()
	url, secret, prefix := standaloneURL(t), randomSecret(), testPrefix("rc")
	a = newRedisStore(t, ConnConfig{URL: url}, secret, nil, prefix, clock)
	b = newRedisStore(t, ConnConfig{URL: url}, secret, nil, prefix, clock)
	la, lb = &commandLog{}, &commandLog{}
	for _, x := range []struct {
		s *Store
		l *commandLog
	}{{a, la}, {b, lb}} {
		if err := x.s.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		x.s.rdb.AddHook(x.l)
	}
	return a, b, la, lb
}

// TestRecentStaleHeader: a Store whose cached header is stale never answers from it: another
// instance's rotation (a miss: the script returns the current fields and the resolve is decided
// on them, two calls as before the cache), its revocation (NOT_FOUND), and a token that is
// current in the stale copy but reuse in Redis (the session ends: theft detection holds).
func TestRecentStaleHeader(t *testing.T) {
	clock := newFakeClock()
	a, b, la, lb := twoStores(t, clock)
	c := mustCreate(t, a, sbA, "d", 60_000, 0, "")
	g1 := resolve(t, a, sbA, c.Token[:], true, 2000)  // A: cached at g1
	g2 := resolve(t, b, sbA, g1.Token[:], true, 2000) // B rotates: A's copy is stale
	la.take()
	lb.take()
	// A presents g2, current in Redis, unknown in its copy (a later generation): it reads.
	g3 := resolve(t, a, sbA, g2.Token[:], true, 2000)
	if !g3.Rotated || la.take() != "hmget evalsha" {
		t.Fatalf("rotation of a generation A had not seen: %+v", g3)
	}
	// B's copy is at g2: g3 is invalid there, it reads; B rotates g3.
	g4 := resolve(t, b, sbA, g3.Token[:], true, 2000)
	if !g4.Rotated || lb.take() != "hmget evalsha" {
		t.Fatal("rotation on B")
	}
	// A's copy (g3 current) accepts g3 and rotates in one call: the header differs, the script
	// returns Redis's fields and A decides again: g3 is the unclaimed predecessor of g4.
	r := resolve(t, a, sbA, g3.Token[:], true, 2000)
	if r.Status != session.OK || r.Token != g4.Token || r.Rotated {
		t.Fatalf("stale copy: %+v, want g4 handed back", r)
	}
	if got := la.take(); got != "evalsha" {
		t.Fatalf("miss with nothing to write: %q", got)
	}
	// Theft: g4 presented and rotated on B (g5), then presented again after the grace window:
	// A, whose copy may say otherwise, must end the session.
	g5 := resolve(t, b, sbA, g4.Token[:], true, 2000)
	resolve(t, b, sbA, g5.Token[:], false, 2000) // g5 presented: g4 is superseded
	clock.Advance(2_001)
	if r := resolve(t, a, sbA, g4.Token[:], true, 2000); r.Status != session.Reused {
		t.Fatalf("reuse through a stale copy: %v", r.Status)
	}
	if r := resolve(t, b, sbA, g5.Token[:], true, 2000); r.Status != session.NotFound {
		t.Fatalf("the session survived its reuse: %v", r.Status)
	}
	// Revocation by B of a session A has cached: A's one call finds it gone.
	d := mustCreate(t, a, sbA, "d", 60_000, 0, "")
	d1 := resolve(t, a, sbA, d.Token[:], true, 2000)
	if _, _, err := b.SessionRevoke(noDL, sbA, d1.Token[:]); err != nil {
		t.Fatal(err)
	}
	la.take()
	if r := resolve(t, a, sbA, d1.Token[:], true, 2000); r.Status != session.NotFound || la.take() != "evalsha" {
		t.Fatalf("a revoked session resolved from the cache: %v", r.Status)
	}
}

// TestRecentAdaptive: two Stores alternating over one session (a round-robin balancer) find
// their copies stale every time and go back to reading first (one read and one script per
// resolve, never more); one Store alone then finds its copies current and goes back to one call.
func TestRecentAdaptive(t *testing.T) {
	a, b, la, lb := twoStores(t, newFakeClock())
	c := mustCreate(t, a, sbA, "d", 60_000, 0, "")
	tok := c.Token
	for i := 0; i < 2*recentWindow+2; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		r := resolve(t, s, sbA, tok[:], true, 2000)
		if r.Status != session.OK || !r.Rotated {
			t.Fatalf("resolve %d: %+v", i, r)
		}
		tok = r.Token
	}
	la.take()
	lb.take()
	if a.recent.use() || b.recent.use() {
		t.Fatalf("the cache is still used at a hit rate of 0 (a %v, b %v)", a.recent.use(), b.recent.use())
	}
	r := resolve(t, a, sbA, tok[:], true, 2000)
	if got := la.take(); got != "hmget evalsha" {
		t.Fatalf("resolve with the cache off: %q", got)
	}
	tok = r.Token
	for i := 0; i < recentWindow+1 && !a.recent.use(); i++ {
		tok = resolve(t, a, sbA, tok[:], true, 2000).Token
	}
	if !a.recent.use() {
		t.Fatal("one Store alone did not go back to the cache")
	}
	la.take()
	if r := resolve(t, a, sbA, tok[:], true, 2000); !r.Rotated || la.take() != "evalsha" {
		t.Fatal("one call once back on the cache")
	}
}

// TestRecentBounded: the cache never holds more than its cap, evicting at random.
func TestRecentBounded(t *testing.T) {
	r := newRecent()
	for i := 0; i < recentShards*recentShardCap*2; i++ {
		r.put(fmt.Sprint("k", i), "h", "l")
	}
	if n := r.size(); n > recentShards*recentShardCap || n < recentShards*recentShardCap*9/10 {
		t.Fatalf("%d entries", n)
	}
	r.put("x", "h1", "l1")
	if e, ok := r.get("x"); !ok || e.h != "h1" {
		t.Fatal("latest entry lost")
	}
	r.drop("x")
	if _, ok := r.get("x"); ok {
		t.Fatal("dropped entry found")
	}
}
