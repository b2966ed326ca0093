package storetest

import (
	"bytes"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// AuthRecord: the authentication record set by S_CREATE is returned by resolve (also after a
// rotation and an update) and by S_LIST without touching the meta; a regenerate keeps it; a
// regenerate with auth (a reauthentication) replaces it and kills the old token; a session
// created without one has none; a bad authAt is refused.
func AuthRecord(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		login := session.Auth{At: clock.NowMs() - 5, Methods: 0b101}
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("alice"), Meta: []byte("meta"), Auth: &login})
		r := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{Rotate: true})
		if r.Status != session.OK || r.Auth != login || !r.Rotated {
			t.Fatalf("resolve = %v %+v", r.Status, r.Auth)
		}
		if _, ok, err := SessionUpdate(s, sbA, r.Token[:], []byte("d2")); !ok || err != nil {
			t.Fatalf("update = %v %v", ok, err)
		}
		if r2 := Resolve(t, s, sbA, r.Token[:], false, 2000); r2.Auth != login || string(r2.Data) != "d2" {
			t.Fatalf("after update: %+v %q", r2.Auth, r2.Data)
		}
		list, err := s.SessionList(sbA, []byte("alice"))
		if err != nil || len(list) != 1 || list[0].Auth != login || !bytes.Equal(list[0].Meta, []byte("meta")) {
			t.Fatalf("list = %+v %v", list, err)
		}
		kept, err := s.SessionRegenerate(noDL, sbA, r.Token[:], 2000, true, nil, nil)
		if err != nil || kept.Status != session.OK || kept.Auth != login {
			t.Fatalf("regenerate = %+v %v", kept, err)
		}
		clock.Advance(1000)
		again := session.Auth{At: clock.NowMs(), Methods: 0b10}
		re, err := s.SessionRegenerate(noDL, sbA, kept.Token[:], 2000, true, nil, &again)
		if err != nil || re.Status != session.OK || re.Auth != again {
			t.Fatalf("reauthenticate = %+v %v", re, err)
		}
		if old := Resolve(t, s, sbA, kept.Token[:], false, 2000); old.Status != session.NotFound {
			t.Fatal("the token before the reauthentication still resolves")
		}
		r3 := Resolve(t, s, sbA, re.Token[:], false, 2000)
		if r3.Status != session.OK || r3.Auth != again || string(r3.Data) != "d2" {
			t.Fatalf("after reauthentication: %v %+v %q", r3.Status, r3.Auth, r3.Data)
		}
		if l, _ := s.SessionList(sbA, []byte("alice")); len(l) != 1 || l[0].Auth != again || string(l[0].Meta) != "meta" {
			t.Fatalf("list after reauthentication = %+v", l)
		}
		plain := MustCreate(t, s, sbA, "p", 60_000, 0, "")
		if r := Resolve(t, s, sbA, plain.Token[:], false, 2000); r.Auth != (session.Auth{}) {
			t.Fatalf("a session without an authentication record has %+v", r.Auth)
		}
		up, err := s.SessionRegenerate(noDL, sbA, plain.Token[:], 2000, true, nil, &again)
		if err != nil || Resolve(t, s, sbA, up.Token[:], false, 2000).Auth != again {
			t.Fatalf("reauthenticating a session created without a record: %v", err)
		}
		if _, err := s.SessionCreate(noDL, sbA, []byte("x"), session.CreateOptions{TTLMs: 1000, Auth: &session.Auth{}}); ErrCode(err) == 0 {
			t.Fatal("authAt 0 accepted by S_CREATE")
		}
		if _, err := s.SessionRegenerate(noDL, sbA, up.Token[:], 2000, true, nil, &session.Auth{At: -1}); ErrCode(err) == 0 {
			t.Fatal("authAt -1 accepted by S_REGENERATE")
		}
	})
}

// RevokeSandboxAndOthers: S_REVOKE_SANDBOX ends every session of one sandbox (with and without
// a user, through either instance) and leaves its KV records and other sandboxes alone;
// S_REVOKE_OTHERS ends the other sessions of the token's user only.
func RevokeSandboxAndOthers(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		var tokens [][]byte
		for _, u := range []string{"alice", "alice", "bob", ""} {
			c := MustCreate(t, s, sbA, "d", 60_000, 0, u)
			tokens = append(tokens, c.Token[:])

		}
		other := MustCreate(t, s, sbB, "d", 60_000, 0, "alice")
		if _, err := s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 60_000); err != nil {
			t.Fatal(err)
		}
		// Others: alice's first session keeps itself and ends her second only.
		ids, err := s.SessionRevokeOthers(noDL, sbA, tokens[0])
		if err != nil || len(ids) != 1 {
			t.Fatalf("revoke others = %d %v", len(ids), err)
		}
		if Resolve(t, s, sbA, tokens[1], false, 2000).Status != session.NotFound {
			t.Fatal("alice's other session survived")
		}
		for _, i := range []int{0, 2, 3} {
			if Resolve(t, s, sbA, tokens[i], false, 2000).Status != session.OK {
				t.Fatalf("session %d ended by revoke others", i)
			}
		}
		if ids, _ := s.SessionRevokeOthers(noDL, sbA, tokens[3]); len(ids) != 0 {
			t.Fatal("a session without a user has others")
		}
		if ids, _ := s.SessionRevokeOthers(noDL, sbA, []byte("nonsense")); len(ids) != 0 {
			t.Fatal("a malformed token revoked something")
		}
		// Sandbox: everything of sbA through the other instance, nothing else.
		n, err := e.Open().SessionRevokeSandbox(noDL, sbA)
		if err != nil || n != 3 {
			t.Fatalf("revoke sandbox = %d %v", n, err)
		}
		for i, tok := range tokens {
			if Resolve(t, s, sbA, tok, false, 2000).Status != session.NotFound {
				t.Fatalf("session %d survived", i)
			}
		}
		if l, _ := s.SessionList(sbA, []byte("alice")); len(l) != 0 {
			t.Fatal("alice still listed")
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
			t.Fatal("index not empty")
		}
		if Resolve(t, s, sbB, other.Token[:], false, 2000).Status != session.OK {
			t.Fatal("another sandbox's session ended")
		}
		if v, _, ok, _ := s.KVGet(sbA, []byte("k"), nil); !ok || string(v) != "v" {
			t.Fatal("a KV record of the sandbox was removed")
		}
		if n, err := s.SessionRevokeSandbox(noDL, sbA); err != nil || n != 0 {
			t.Fatalf("second revoke sandbox = %d %v", n, err)
		}
		if n, err := s.SessionRevokeSandbox(noDL, []byte("never-used")); err != nil || n != 0 {
			t.Fatalf("revoke of an unused sandbox = %d %v", n, err)
		}
		if _, err := s.SessionRevokeSandbox(noDL, []byte("bad/name")); ErrCode(err) == 0 {
			t.Fatal("an invalid sandbox name accepted")
		}
		if _, err := s.SessionRevokeSandbox(session.Deadline(clock.NowMs()-1), sbB); ErrCode(err) == 0 {
			t.Fatal("a passed deadline accepted")
		}
		if Resolve(t, s, sbB, other.Token[:], false, 2000).Status != session.OK {
			t.Fatal("a refused revoke sandbox ended a session")
		}
	})
}

// RevokeSandboxMany: S_REVOKE_SANDBOX ends every one of more sessions than one SCAN batch
// holds (Redis walks each master in batches of 1000 keys), with and without users, and
// counts them exactly.
func RevokeSandboxMany(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		const n = 2100
		users := []string{"", "u1", "u2", "u3"}
		var last []byte
		for i := 0; i < n; i++ {
			c := MustCreate(t, s, sbA, "d", 60_000, 0, users[i%len(users)])
			last = c.Token[:]
		}
		got, err := s.SessionRevokeSandbox(noDL, sbA)
		if err != nil || got != n {
			t.Fatalf("revoke sandbox = %d %v, want %d", got, err, n)
		}
		if Resolve(t, s, sbA, last, false, 2000).Status != session.NotFound {
			t.Fatal("a session survived")
		}
		for _, u := range users[1:] {
			if l, _ := s.SessionList(sbA, []byte(u)); len(l) != 0 {
				t.Fatalf("user %s still lists %d sessions", u, len(l))
			}
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
			t.Fatal("index not empty")
		}
	})
}
