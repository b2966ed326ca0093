package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// StolenToken: the theft patterns the rule catches, and the one it cannot tell from a lost
// answer (docs/security-model.md lists them).
func StolenToken(t *testing.T, each Each) {
	// The owner has used the session, then goes idle holding its current token.
	start := func(t *testing.T, s Backend, clock *FakeClock) (session.CreateResult, [crypto.TokenLength]byte) {
		c := MustCreate(t, s, sbA, "d", 3_600_000, 0, "dave")
		tok := c.Token
		for i := 0; i < 3; i++ {
			clock.Advance(1000)
			tok = Resolve(t, s, sbA, tok[:], true, 2000).Token
		}
		return c, tok
	}
	t.Run("the thief uses the copy and its successor while the owner is idle", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			c, owner := start(t, s, clock)
			thief := e.Open()
			clock.Advance(60_000)
			stolen := owner
			for i := 0; i < 2; i++ {
				r := Resolve(t, thief, sbA, stolen[:], true, 2000)
				if r.Status != session.OK || !r.Rotated {
					t.Fatalf("the thief's request %d: %+v", i, r)
				}
				stolen = r.Token
				clock.Advance(30_000)
			}
			// The owner comes back: both are logged out.
			checkReused(t, e, s, s, Resolve(t, s, sbA, owner[:], true, 2000), c.SessionID, stolen[:], "dave")
		})
	})
	t.Run("the owner moves on, then the thief uses an old copy", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			c, copied := start(t, s, clock)
			owner := copied
			for i := 0; i < 2; i++ {
				clock.Advance(1000)
				owner = Resolve(t, s, sbA, owner[:], true, 2000).Token
			}
			clock.Advance(2000)
			thief := e.Open()
			checkReused(t, e, s, thief, Resolve(t, thief, sbA, copied[:], true, 2000), c.SessionID, owner[:], "dave")
		})
	})
	t.Run("a copy used exactly once looks like a lost answer until the two holders diverge", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			c, owner := start(t, s, clock)
			thief := e.Open()
			clock.Advance(60_000)
			stolen := Resolve(t, thief, sbA, owner[:], true, 2000).Token
			clock.Advance(60_000)
			back := Resolve(t, s, sbA, owner[:], true, 2000)
			if back.Status != session.OK || back.Rotated || back.Token != stolen {
				t.Fatalf("the owner's return after a single use of the copy: %+v", back)
			}
			// Both now hold the same token; the owner goes on, the thief comes back later.
			cur := back.Token
			for i := 0; i < 2; i++ {
				clock.Advance(1000)
				cur = Resolve(t, s, sbA, cur[:], true, 2000).Token
			}
			clock.Advance(2000)
			checkReused(t, e, s, thief, Resolve(t, thief, sbA, stolen[:], true, 2000), c.SessionID, cur[:], "dave")
		})
	})
}

// KilledTokensStayDead: a session ended on purpose (logout, revoke by id, revoke-all,
// regenerate, reuse, a binding revoke) is gone for every token it had, whatever the rule
// would have answered them before: the current one, the previous one whose successor was never
// presented, older ones; now and much later, for every operation.
func KilledTokensStayDead(t *testing.T, each Each) {
	kills := map[string]func(t *testing.T, s Backend, c session.CreateResult, cur []byte){
		"logout": func(t *testing.T, s Backend, _ session.CreateResult, cur []byte) {
			if ok, _ := SessionRevoke(s, sbA, cur); !ok {
				t.Fatal("revoke = false")
			}
		},
		"logout with the previous token": func(t *testing.T, s Backend, c session.CreateResult, _ []byte) {
			if ok, _ := SessionRevoke(s, sbA, c.Token[:]); !ok {
				t.Fatal("revoke = false")
			}
		},
		"revoke by id": func(t *testing.T, s Backend, c session.CreateResult, _ []byte) {
			if ok, _ := s.SessionRevokeID(noDL, sbA, []byte(crypto.EncodeID(&c.SessionID))); !ok {
				t.Fatal("revoke by id = false")
			}
		},
		"revoke all": func(t *testing.T, s Backend, _ session.CreateResult, _ []byte) {
			if n, _ := SessionRevokeAll(s, sbA, []byte("erin"), nil); n != 1 {
				t.Fatalf("revoke all = %d", n)
			}
		},
		"regenerate": func(t *testing.T, s Backend, _ session.CreateResult, cur []byte) {
			if g, err := s.SessionRegenerate(noDL, sbA, cur, 2000, true, nil, nil); err != nil || g.Status != session.OK {
				t.Fatalf("regenerate: %+v %v", g, err)
			}
		},
		"reuse": func(t *testing.T, s Backend, c session.CreateResult, cur []byte) {
			Resolve(t, s, sbA, cur, true, 2000) // cur's first presentation
			if r, _ := SessionResolve(s, sbA, c.Token[:], false, 0, 0, nil); r.Status != session.Reused {
				t.Fatalf("reuse with a zero grace window: %v", r.Status)
			}
		},
		"binding revoke": func(t *testing.T, s Backend, _ session.CreateResult, cur []byte) {
			r := ResolveWith(t, s, sbA, cur, session.ResolveOptions{CheckBinding: true, OnMismatch: session.MismatchRevoke, UserAgent: []byte("other")})
			if r.Status != session.Mismatched || !r.Revoked {
				t.Fatalf("binding revoke: %+v", r)
			}
		},
	}
	for name, kill := range kills {
		t.Run(name, func(t *testing.T) {
			each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
				c := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 3_600_000, UserID: []byte("erin"), Bind: session.BindAgent, UserAgent: []byte("ua")})
				cur := Resolve(t, s, sbA, c.Token[:], true, 2000).Token // never presented: c.Token stays answerable
				kill(t, s, c, cur[:])
				for _, wait := range []int64{0, 600_000} {
					clock.Advance(wait)
					for tname, tok := range map[string][]byte{"current": cur[:], "previous": c.Token[:]} {
						for _, b := range []Backend{s, e.Open()} {
							if r := Resolve(t, b, sbA, tok, true, session.MaxGraceMs); r.Status != session.NotFound {
								t.Fatalf("%s token %d ms after: %v", tname, wait, r.Status)
							}
							if _, ok, _ := SessionUpdate(b, sbA, tok, []byte("x")); ok {
								t.Fatalf("%s token updated %d ms after", tname, wait)
							}
							if g, _ := b.SessionRegenerate(noDL, sbA, tok, session.MaxGraceMs, true, nil, nil); g.Status != session.NotFound {
								t.Fatalf("%s token regenerated %d ms after", tname, wait)
							}
						}
					}
				}
				if l, _ := s.SessionList(sbA, []byte("erin")); len(l) > 1 || len(l) == 1 && name != "regenerate" {
					t.Fatalf("sessions left: %d", len(l))
				}
			})
		})
	}
}
