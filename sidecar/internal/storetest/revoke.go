package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

func Revoke(t *testing.T, each Each) {
	t.Run("revoke kills tokens in grace", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
			g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "u")
			g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
			if ok, _ := SessionRevoke(s, sbA, g1.Token[:]); !ok {
				t.Fatal("revoke = false")
			}
			if r := Resolve(t, s, sbA, g0.Token[:], false, 2000); r.Status != session.NotFound {
				t.Fatalf("grace token after revoke: %v", r.Status)
			}
			if ok, _ := SessionRevoke(s, sbA, g1.Token[:]); ok {
				t.Fatal("second revoke = true")
			}
			if st := s.Stats(); st.Revoked != 1 {
				t.Fatalf("revoked %d", st.Revoked)
			}
			if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
				t.Fatalf("index %d", e.IndexSize(sbA))
			}
			if l, _ := s.SessionList(sbA, []byte("u")); len(l) != 0 {
				t.Fatal("index not cleaned")
			}
		})
	})
	for _, which := range []string{"grace generation", "older generation"} {
		t.Run("revoke by "+which, func(t *testing.T) {
			each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
				g0 := MustCreate(t, s, sbA, "d", 600_000, 0, "")
				g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
				if which == "older generation" {
					clock.Advance(session.MaxGraceMs + 1)
				}
				if ok, _ := SessionRevoke(s, sbA, g0.Token[:]); !ok {
					t.Fatal("revoke = false")
				}
				if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != session.NotFound {
					t.Fatal("session survived")
				}
			})
		})
	}
	t.Run("forged token does not revoke", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
			g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
			forged := []byte(string(g0.Token[:]))
			forged[50] ^= 1
			if ok, _ := SessionRevoke(s, sbA, forged); ok {
				t.Fatal("forged current token revoked")
			}
			if ok, _ := SessionRevoke(s, sbA, []byte("nonsense")); ok {
				t.Fatal("nonsense revoked")
			}
		})
	})
}

func ListRevokeAllRevokeID(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		var alice []session.CreateResult
		for i := 0; i < 3; i++ {
			res, err := SessionCreate(s, sbA, []byte("d"), 60_000, 0, []byte("alice"), []byte{'m', byte('0' + i)})
			if err != nil {
				t.Fatal(err)
			}
			alice = append(alice, res)
			clock.Advance(1)
		}
		bob := MustCreate(t, s, sbA, "d", 60_000, 0, "bob")
		MustCreate(t, s, sbA, "d", 60_000, 0, "")
		list, err := s.SessionList(sbA, []byte("alice"))
		if err != nil || len(list) != 3 {
			t.Fatalf("list = %d %v", len(list), err)
		}
		for i, it := range list {
			if it.SessionID != alice[i].SessionID || string(it.Meta) != string([]byte{'m', byte('0' + i)}) || it.ExpiresAt != alice[i].ExpiresAt {
				t.Fatalf("entry %d = %+v", i, it)
			}
		}
		if l, _ := s.SessionList(sbA, []byte("nobody")); len(l) != 0 {
			t.Fatal("list of an unknown user not empty")
		}
		if l, _ := s.SessionList(sbB, []byte("alice")); len(l) != 0 {
			t.Fatal("list crosses sandboxes")
		}
		clock.Advance(100)
		Resolve(t, s, sbA, alice[0].Token[:], false, 2000)
		if l, _ := s.SessionList(sbA, []byte("alice")); l[0].LastSeenAt != clock.NowMs() {
			t.Fatal("lastSeenAt not updated")
		}
		cur := Resolve(t, s, sbA, alice[1].Token[:], true, 2000)
		n, err := SessionRevokeAll(s, sbA, []byte("alice"), alice[1].Token[:])
		if err != nil || n != 2 {
			t.Fatalf("revokeAll = %d %v", n, err)
		}
		if r := Resolve(t, s, sbA, cur.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("the excepted session was revoked")
		}
		if r := Resolve(t, s, sbA, alice[0].Token[:], false, 2000); r.Status != session.NotFound {
			t.Fatal("a revoked session resolves")
		}
		if r := Resolve(t, s, sbA, bob.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("another user's session was revoked")
		}
		if n, _ := SessionRevokeAll(s, sbA, []byte("alice"), bob.Token[:]); n != 1 {
			t.Fatalf("revokeAll with a foreign except token revoked %d", n)
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 1 {
			t.Fatalf("index size %d, want 1 (bob)", e.IndexSize(sbA))
		}
		id := crypto.AppendID(nil, &bob.SessionID)
		if ok, _ := s.SessionRevokeID(noDL, sbB, id); ok {
			t.Fatal("revoke by id crossed sandboxes")
		}
		if ok, _ := s.SessionRevokeID(noDL, sbA, id); !ok {
			t.Fatal("revoke by id = false")
		}
		if ok, _ := s.SessionRevokeID(noDL, sbA, id); ok {
			t.Fatal("second revoke by id = true")
		}
		if ok, _ := s.SessionRevokeID(noDL, sbA, []byte("not-an-id")); ok {
			t.Fatal("malformed id revoked something")
		}
		if l, _ := s.SessionList(sbA, []byte("bob")); len(l) != 0 {
			t.Fatal("bob still listed")
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
			t.Fatal("index not empty")
		}
		if st := s.Stats(); st.Revoked != 4 {
			t.Fatalf("revoked counter %d", st.Revoked)
		}
		// Except by public id; every revoked id reported.
		u := []byte("all")
		a := CreateWith(t, s, sbA, "a", session.CreateOptions{UserID: u})
		b := CreateWith(t, s, sbA, "b", session.CreateOptions{UserID: u})
		c := CreateWith(t, s, sbA, "c", session.CreateOptions{UserID: u})
		ids, err := s.SessionRevokeAll(noDL, sbA, u, []byte(crypto.EncodeID(&b.SessionID)))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ids, func(x, y crypto.Digest) int { return bytes.Compare(x[:], y[:]) })
		want := []crypto.Digest{a.SessionID, c.SessionID}
		slices.SortFunc(want, func(x, y crypto.Digest) int { return bytes.Compare(x[:], y[:]) })
		if !slices.Equal(ids, want) {
			t.Fatalf("revoked %v, want %v", ids, want)
		}
		if r := Resolve(t, s, sbA, b.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("the excepted session was revoked")
		}
		sid, existed, err := s.SessionRevoke(noDL, sbA, b.Token[:])
		if err != nil || !existed || sid != b.SessionID {
			t.Fatal("SessionRevoke does not report the id")
		}
	})
}
