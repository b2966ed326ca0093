package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

func Regenerate(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		c := CreateWith(t, s, sbA, `{"role":"user"}`, session.CreateOptions{TTLMs: 100_000, IdleMs: 50_000, UserID: []byte("reg"), Meta: []byte("device"), Remember: true,
			Bind: session.BindAgent, UserAgent: []byte("ua")})
		clock.Advance(1_000)
		r1 := Resolve(t, s, sbA, c.Token[:], true, 2000)
		clock.Advance(500)
		g, err := s.SessionRegenerate(noDL, sbA, r1.Token[:], 2000, true, nil, nil)
		if err != nil || g.Status != session.OK {
			t.Fatal(g, err)
		}
		if g.SessionID == c.SessionID || g.Token == r1.Token || g.OldID != c.SessionID || g.Flags != session.SessionFlagRemember|session.SessionFlagIdle {
			t.Fatalf("regenerate result %+v", g)
		}
		for name, tok := range map[string][]byte{"current": r1.Token[:], "in grace": c.Token[:]} {
			if r := Resolve(t, s, sbA, tok, false, 60_000); r.Status != session.NotFound {
				t.Fatalf("the old %s token still resolves: %v", name, r.Status)
			}
		}
		r := ResolveWith(t, s, sbA, g.Token[:], session.ResolveOptions{CheckBinding: true, OnMismatch: session.MismatchReject, UserAgent: []byte("ua")})
		if r.Status != session.OK || string(r.Data) != `{"role":"user"}` || r.SessionID != g.SessionID {
			t.Fatalf("new session %+v", r)
		}
		if bad := ResolveWith(t, s, sbA, g.Token[:], session.ResolveOptions{CheckBinding: true, OnMismatch: session.MismatchReject, UserAgent: []byte("other")}); bad.Status != session.Mismatched {
			t.Fatal("the binding was not kept")
		}
		list, _ := s.SessionList(sbA, []byte("reg"))
		if len(list) != 1 || list[0].SessionID != g.SessionID || string(list[0].Meta) != "device" || list[0].CreatedAt != c.ExpiresAt-50_000 {
			t.Fatalf("list after regenerate %+v", list)
		}
		clock.Advance(48_000)
		Resolve(t, s, sbA, g.Token[:], false, 2000)
		clock.Advance(48_000)
		r = Resolve(t, s, sbA, g.Token[:], false, 2000)
		if r.Status != session.OK || r.ExpiresAt != c.ExpiresAt-50_000+100_000 {
			t.Fatalf("expiry %d, want the original absolute expiry", r.ExpiresAt-(c.ExpiresAt-50_000))
		}
		h, err := s.SessionRegenerate(noDL, sbA, g.Token[:], 2000, false, []byte(`{"role":"admin"}`), nil)
		if err != nil || h.Status != session.OK {
			t.Fatal(err)
		}
		if r := Resolve(t, s, sbA, h.Token[:], false, 2000); string(r.Data) != `{"role":"admin"}` {
			t.Fatalf("data %q", r.Data)
		}
		for name, tok := range map[string][]byte{"dead": g.Token[:], "garbage": []byte("x")} {
			if res, err := s.SessionRegenerate(noDL, sbA, tok, 2000, true, nil, nil); err != nil || res.Status != session.NotFound {
				t.Fatalf("%s: %+v %v", name, res, err)
			}
		}
		// A session without a user regenerates too.
		anon := MustCreate(t, s, sbA, "anon", 60_000, 0, "")
		ra, err := s.SessionRegenerate(noDL, sbA, anon.Token[:], 2000, true, nil, nil)
		if err != nil || ra.Status != session.OK {
			t.Fatal(ra, err)
		}
		if r := Resolve(t, s, sbA, ra.Token[:], false, 2000); r.Status != session.OK || string(r.Data) != "anon" {
			t.Fatalf("anonymous regenerate: %+v", r)
		}
		if e.CheckIndex != nil {
			e.CheckIndex(t, sbA)
		}
	})
}
