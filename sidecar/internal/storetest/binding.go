package storetest

import (
	"fmt"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func BindingModesAndActions(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		type attempt struct {
			ip, ua string
			want   uint8
		}
		modes := []struct {
			name     string
			bind     session.BindMode
			attempts []attempt
		}{
			{"subnet", session.BindIPSubnet, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.77", "b", 0}, {"10.0.1.1", "a", session.MismatchIP}}},
			{"exact", session.BindIPExact, []attempt{{"10.0.0.1", "b", 0}, {"10.0.0.2", "a", session.MismatchIP}}},
			{"agent", session.BindAgent, []attempt{{"192.168.9.9", "a", 0}, {"10.0.0.1", "a/2", session.MismatchAgent}}},
			{"exact+agent", session.BindIPExact | session.BindAgent, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.2", "b", session.MismatchIP | session.MismatchAgent}}},
			{"none", 0, []attempt{{"1.1.1.1", "z", 0}}},
		}
		for _, m := range modes {
			for _, action := range []session.MismatchAction{session.MismatchRevoke, session.MismatchReject, session.MismatchLog} {
				for _, a := range m.attempts {
					name := fmt.Sprintf("%s/%s/%s+%s", m.name, action, a.ip, a.ua)
					c := CreateWith(t, s, sbA, "d", session.CreateOptions{Bind: m.bind, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
					before := s.Stats().BindingMismatches
					r := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{Rotate: true, CheckBinding: true, OnMismatch: action, IP: []byte(a.ip), UserAgent: []byte(a.ua)})
					if a.want == 0 {
						if r.Status != session.OK || r.Mismatch != 0 || !r.Rotated {
							t.Fatalf("%s: %+v", name, r)
						}
						continue
					}
					if s.Stats().BindingMismatches != before+1 {
						t.Fatalf("%s: mismatch not counted", name)
					}
					switch action {
					case session.MismatchRevoke:
						if r.Status != session.Mismatched || !r.Revoked || r.Mismatch != a.want || r.SessionID != c.SessionID {
							t.Fatalf("%s: %+v", name, r)
						}
						if again := Resolve(t, s, sbA, c.Token[:], false, 2000); again.Status != session.NotFound {
							t.Fatalf("%s: the session survived the revoke action", name)
						}
					case session.MismatchReject:
						if r.Status != session.Mismatched || r.Revoked || r.Mismatch != a.want {
							t.Fatalf("%s: %+v", name, r)
						}
						ok := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
						if ok.Status != session.OK || ok.Token != c.Token {
							t.Fatalf("%s: the bound client lost the session: %+v", name, ok)
						}
					case session.MismatchLog:
						if r.Status != session.OK || r.Mismatch != a.want || !r.Rotated {
							t.Fatalf("%s: %+v", name, r)
						}
					}
				}
			}
		}
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{Bind: session.BindIPExact | session.BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		if r := Resolve(t, s, sbA, c.Token[:], false, 2000); r.Status != session.OK || r.Mismatch != 0 {
			t.Fatalf("unchecked resolve: %+v", r)
		}
		rot := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{Rotate: true, CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		if rot.Status != session.OK || !rot.Rotated {
			t.Fatal(rot)
		}
		if r := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{CheckBinding: true, OnMismatch: session.MismatchReject, IP: []byte("10.0.0.9"), UserAgent: []byte("a")}); r.Status != session.Mismatched {
			t.Fatalf("in-grace token with another address: %+v", r)
		}
		// Binding survives updates and rotations.
		b := CreateWith(t, s, sbA, "v1", session.CreateOptions{UserID: []byte("u"), Meta: []byte("m"), Bind: session.BindIPSubnet | session.BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		check := session.ResolveOptions{Rotate: true, CheckBinding: true, OnMismatch: session.MismatchReject, IP: []byte("10.0.0.5"), UserAgent: []byte("a")}
		tok := b.Token
		for i := 0; i < 3; i++ {
			if _, ok, err := SessionUpdate(s, sbA, tok[:], []byte(fmt.Sprintf("v%d", i+2))); !ok || err != nil {
				t.Fatal("update", err)
			}
			r := ResolveWith(t, s, sbA, tok[:], check)
			if r.Status != session.OK || string(r.Data) != fmt.Sprintf("v%d", i+2) {
				t.Fatalf("round %d: %+v", i, r)
			}
			tok = r.Token
		}
		wrong := check
		wrong.UserAgent = []byte("b")
		if r := ResolveWith(t, s, sbA, tok[:], wrong); r.Status != session.Mismatched || r.Mismatch != session.MismatchAgent {
			t.Fatalf("binding lost by update: %+v", r)
		}
		if list, _ := s.SessionList(sbA, []byte("u")); len(list) != 1 || string(list[0].Meta) != "m" {
			t.Fatalf("list %+v", list)
		}
		if _, err := s.SessionCreate(noDL, sbA, nil, session.CreateOptions{TTLMs: 1, Bind: 8}); ErrCode(err) != xerr.BadRequest {
			t.Fatalf("bind mode 8: %v", err)
		}
	})
}

func CSRFTokenAndFlags(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		a := CreateWith(t, s, sbA, "d", session.CreateOptions{})
		b := CreateWith(t, s, sbA, "d", session.CreateOptions{})
		if a.CSRF == b.CSRF || a.CSRF == a.SessionID {
			t.Fatal("CSRF tokens must differ per session and from the public id")
		}
		tok := a.Token
		for i := 0; i < 3; i++ {
			r := ResolveWith(t, s, sbA, tok[:], session.ResolveOptions{Rotate: true, WantCSRF: true})
			if r.Status != session.OK || !r.HasCSRF || r.CSRF != a.CSRF {
				t.Fatalf("rotation %d changed the CSRF token", i)
			}
			tok = r.Token
		}
		if r := ResolveWith(t, s, sbA, tok[:], session.ResolveOptions{}); r.HasCSRF {
			t.Fatal("CSRF token computed without being asked for")
		}
		if r := ResolveWith(t, s, sbA, a.Token[:], session.ResolveOptions{WantCSRF: true, GraceMs: 60_000}); r.Status != session.OK || r.CSRF != a.CSRF {
			t.Fatalf("in-grace resolve: %+v", r)
		}
		g, err := s.SessionRegenerate(noDL, sbA, tok[:], 2000, true, nil, nil)
		if err != nil || g.Status != session.OK || g.CSRF == a.CSRF {
			t.Fatalf("regenerate must change the CSRF token: %+v %v", g, err)
		}
		for _, c := range []struct {
			o    session.CreateOptions
			want uint8
		}{
			{session.CreateOptions{}, 0},
			{session.CreateOptions{Remember: true}, session.SessionFlagRemember},
			{session.CreateOptions{IdleMs: 1000}, session.SessionFlagIdle},
			{session.CreateOptions{Remember: true, IdleMs: 1000, UserID: []byte("u"), Bind: session.BindAgent}, session.SessionFlagRemember | session.SessionFlagIdle},
		} {
			res := CreateWith(t, s, sbA, "d", c.o)
			if r := ResolveWith(t, s, sbA, res.Token[:], session.ResolveOptions{Rotate: true}); r.Flags != c.want {
				t.Fatalf("%+v: flags %d, want %d", c.o, r.Flags, c.want)
			}
		}
	})
}
