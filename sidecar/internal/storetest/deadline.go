package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// past is a deadline that has passed for every clock (a fake one, or Redis's own).
const past session.Deadline = 1

// Deadlines: an operation whose deadline has passed changes nothing and says so
// (DEADLINE_EXCEEDED): not the record, not the rotation state, not the last-seen time, not the
// user's index. With a deadline still ahead, the same operation is applied. (The Redis store
// does not look at deadlines itself: its scripts compare them with Redis's clock.)
func Deadlines(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		ahead := session.Deadline(clock.NowMs() + 3_600_000)
		refused := func(what string, err error) {
			t.Helper()
			if ErrCode(err) != xerr.DeadlineExceeded {
				t.Fatalf("%s with a passed deadline: %v, want DEADLINE_EXCEEDED", what, err)
			}
		}
		// KV
		s.KVSet(noDL, sbA, []byte("k"), []byte("v1"), 60_000)
		_, err := s.KVSet(past, sbA, []byte("k"), []byte("v2"), 60_000)
		refused("KV_SET", err)
		_, err = s.KVSet(past, sbA, []byte("new"), []byte("v"), 60_000)
		refused("KV_SET of a new key", err)
		_, _, err = s.KVTouch(past, sbA, []byte("k"), 1)
		refused("KV_TOUCH", err)
		_, err = s.KVDel(past, sbA, []byte("k"))
		refused("KV_DEL", err)
		_, err = s.Clear(past, sbA)
		refused("CLEAR", err)
		if v, exp, found, _ := s.KVGet(sbA, []byte("k"), nil); !found || string(v) != "v1" || exp < clock.NowMs()+59_000 {
			t.Fatalf("the record changed: %q %v", v, found)
		}
		if _, _, found, _ := s.KVGet(sbA, []byte("new"), nil); found {
			t.Fatal("a refused KV_SET created its key")
		}
		if _, err := s.KVSet(ahead, sbA, []byte("k"), []byte("v3"), 60_000); err != nil {
			t.Fatalf("KV_SET before its deadline: %v", err)
		}

		// Sessions: create, resolve (rotation, first presentation, last seen), update, revoke.
		user := []byte("frank")
		_, err = s.SessionCreate(past, sbA, []byte("d"), session.CreateOptions{TTLMs: 60_000, UserID: user})
		refused("S_CREATE", err)
		if l, _ := s.SessionList(sbA, user); len(l) != 0 {
			t.Fatal("a refused S_CREATE left a session")
		}
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 600_000, IdleMs: 300_000, UserID: user})
		clock.Advance(1000)
		_, err = s.SessionResolve(past, sbA, c.Token[:], session.ResolveOptions{Rotate: true, GraceMs: 2000}, nil)
		refused("S_RESOLVE", err)
		if l, _ := s.SessionList(sbA, user); len(l) != 1 || l[0].LastSeenAt != c.ExpiresAt-300_000 {
			t.Fatalf("a refused S_RESOLVE moved the last-seen time: %+v", l)
		}
		g1 := Resolve(t, s, sbA, c.Token[:], true, 2000)
		if !g1.Rotated {
			t.Fatal("the refused S_RESOLVE had rotated")
		}
		// A refused presentation of g1 is not a presentation: c.Token stays answerable.
		_, err = s.SessionResolve(past, sbA, g1.Token[:], session.ResolveOptions{GraceMs: 2000}, nil)
		refused("S_RESOLVE of the successor", err)
		clock.Advance(10_000)
		if r := Resolve(t, s, sbA, c.Token[:], true, 2000); r.Status != session.OK || r.Token != g1.Token || r.Rotated {
			t.Fatalf("a refused presentation counted: %+v", r)
		}
		_, _, err = s.SessionUpdate(past, sbA, g1.Token[:], []byte("changed"), 2000)
		refused("S_UPDATE", err)
		_, err = s.SessionRegenerate(past, sbA, g1.Token[:], 2000, true, nil, nil)
		refused("S_REGENERATE", err)
		_, _, err = s.SessionRevoke(past, sbA, g1.Token[:])
		refused("S_REVOKE", err)
		_, err = s.SessionRevokeID(past, sbA, []byte(crypto.EncodeID(&c.SessionID)))
		refused("S_REVOKE_ID", err)
		_, err = s.SessionRevokeAll(past, sbA, user, nil)
		refused("S_REVOKE_ALL", err)
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != session.OK || r.Token != g1.Token || string(r.Data) != "d" {
			t.Fatalf("the session changed: %+v", r)
		}
		// Reuse found after the deadline: nothing applied, found again next time.
		g2 := Resolve(t, s, sbA, g1.Token[:], true, 2000)
		clock.Advance(5000)
		_, err = s.SessionResolve(past, sbA, c.Token[:], session.ResolveOptions{Rotate: true, GraceMs: 2000}, nil)
		refused("S_RESOLVE finding reuse", err)
		if r := Resolve(t, s, sbA, g2.Token[:], false, 2000); r.Status != session.OK {
			t.Fatalf("the refused reuse revoked the session: %v", r.Status)
		}
		if r := Resolve(t, s, sbA, c.Token[:], false, 2000); r.Status != session.Reused {
			t.Fatalf("reuse not found again: %v", r.Status)
		}
		// Every operation before its deadline.
		d := CreateWith(t, s, sbA, "d", session.CreateOptions{UserID: user})
		if _, err := s.SessionCreate(ahead, sbA, nil, session.CreateOptions{TTLMs: 1000}); err != nil {
			t.Fatal(err)
		}
		if r, err := s.SessionResolve(ahead, sbA, d.Token[:], session.ResolveOptions{Rotate: true, GraceMs: 2000}, nil); err != nil || !r.Rotated {
			t.Fatalf("S_RESOLVE before its deadline: %+v %v", r, err)
		}
		if _, ok, err := s.SessionUpdate(ahead, sbA, d.Token[:], []byte("x"), 2000); !ok || err != nil {
			t.Fatalf("S_UPDATE before its deadline: %v", err)
		}
		if n, err := s.SessionRevokeAll(ahead, sbA, user, nil); len(n) != 1 || err != nil {
			t.Fatalf("S_REVOKE_ALL before its deadline: %d %v", len(n), err)
		}
		if n, err := s.Clear(ahead, sbA); err != nil || n == 0 {
			t.Fatalf("CLEAR before its deadline: %d %v", n, err)
		}
	})
}
