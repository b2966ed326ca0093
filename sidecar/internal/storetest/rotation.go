package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// The rotation rule (session.Decide; docs/security-model.md, "Rotation and theft detection"):
// a superseded token whose successor has never been presented is answered with the current
// token, however late; one whose successor has been presented, for graceMs after that first
// presentation; later (or beyond the history cap) it is reuse.

// presentAt is when the scenarios present a successor: well after it was issued, so that a
// window counted from the issue would differ from one counted from the first presentation.
const presentAt = 700

// GraceWindowEdges: the edges of the grace window, counted from the successor's first
// presentation, with the successor still current (not rotated on presentation) and superseded
// in turn; REUSED ends the session (counted, the user's index cleaned). The old token comes
// back through another instance.
func GraceWindowEdges(t *testing.T, each Each) {
	const grace = 2000
	for _, c := range []struct {
		name  string
		after int64
		want  session.Status
	}{
		{"grace-1 ms", grace - 1, session.OK},
		{"exactly grace", grace, session.Reused},
		{"grace+1 ms", grace + 1, session.Reused},
	} {
		for _, rotates := range []bool{false, true} {
			name := c.name + " after the successor was presented"
			if rotates {
				name += " and rotated"
			}
			t.Run(name, func(t *testing.T) {
				each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
					res := MustCreate(t, s, sbA, "d", 60_000, 0, "bob")
					r1 := Resolve(t, s, sbA, res.Token[:], true, grace)
					if !r1.Rotated {
						t.Fatal("did not rotate")
					}
					clock.Advance(presentAt)
					cur := Resolve(t, s, sbA, r1.Token[:], rotates, grace)
					if cur.Status != session.OK || cur.Rotated != rotates {
						t.Fatalf("presenting the successor: %+v", cur)
					}
					clock.Advance(c.after)
					other := e.Open()
					r := Resolve(t, other, sbA, res.Token[:], true, grace)
					if r.Status != c.want {
						t.Fatalf("status %v, want %v", r.Status, c.want)
					}
					if c.want == session.OK {
						if r.Token != cur.Token || r.Rotated || string(r.Data) != "d" {
							t.Fatalf("in grace: got %+v", r)
						}
						if r := Resolve(t, s, sbA, cur.Token[:], false, grace); r.Status != session.OK || r.Token != cur.Token {
							t.Fatal("current token broken by a grace resolve")
						}
						return
					}
					checkReused(t, e, s, other, r, res.SessionID, cur.Token[:], "bob")
				})
			})
		}
	}
}

// checkReused checks that r is the REUSED of session id, and that the session is gone.
func checkReused(t *testing.T, e *Env, s, other Backend, r session.ResolveResult, id crypto.Digest, current []byte, user string) {
	t.Helper()
	if r.Status != session.Reused || r.SessionID != id {
		t.Fatalf("want REUSED naming the session, got %+v", r)
	}
	if r := Resolve(t, s, sbA, current, false, 2000); r.Status != session.NotFound {
		t.Fatal("the current token survived reuse detection")
	}
	if other.Stats().ReuseDetected != 1 {
		t.Fatal("reuse not counted")
	}
	if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
		t.Fatal("index not cleaned")
	}
	if l, _ := s.SessionList(sbA, []byte(user)); len(l) != 0 {
		t.Fatal("index not cleaned")
	}
}

// Grandparent: two generations back, the window is its child's first presentation + grace,
// whatever the current generation (its grandchild) does.
func Grandparent(t *testing.T, each Each) {
	const grace = 2000
	setup := func(t *testing.T, s Backend, clock *FakeClock) (session.CreateResult, session.ResolveResult) {
		g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		g1 := Resolve(t, s, sbA, g0.Token[:], true, grace)
		clock.Advance(500)
		g2 := Resolve(t, s, sbA, g1.Token[:], true, grace) // g1's first presentation
		if !g1.Rotated || !g2.Rotated {
			t.Fatal("setup did not rotate twice")
		}
		return g0, g2
	}
	t.Run("inside grace returns the current token", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			g0, g2 := setup(t, s, clock)
			clock.Advance(grace - 1)
			r := Resolve(t, s, sbA, g0.Token[:], true, grace)
			if r.Status != session.OK || r.Token != g2.Token || r.Rotated {
				t.Fatalf("grandparent in grace: %+v", r)
			}
		})
	})
	t.Run("outside grace is reuse even though its grandchild was never presented", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			g0, g2 := setup(t, s, clock)
			clock.Advance(grace)
			if r := Resolve(t, s, sbA, g0.Token[:], true, grace); r.Status != session.Reused {
				t.Fatalf("status %v", r.Status)
			}
			if r := Resolve(t, s, sbA, g2.Token[:], true, grace); r.Status != session.NotFound {
				t.Fatal("session survived")
			}
		})
	})
}

// GraceListCap: every generation within session.HistoryCap of the current one is answered
// (each from its own place in the history, presented 10 ms apart); the one before is reuse.
func GraceListCap(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		first := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		tok := first.Token
		tokens := [][crypto.TokenLength]byte{tok}
		for i := 0; i < session.HistoryCap+1; i++ {
			clock.Advance(10)
			r := Resolve(t, s, sbA, tok[:], true, 2000)
			tok = r.Token
			tokens = append(tokens, tok)
		}
		for g := len(tokens) - 1; g >= 1; g-- {
			if r := Resolve(t, s, sbA, tokens[g][:], false, 2000); r.Status != session.OK || r.Token != tok || r.Rotated {
				t.Fatalf("gen %d (in the history) = %+v", g, r)
			}
		}
		if r := Resolve(t, s, sbA, tokens[0][:], false, 2000); r.Status != session.Reused {
			t.Fatalf("gen 0 (pushed out) = %v", r.Status)
		}
	})
}

// LostAnswer: the answer that carried a successor never arrived (a closed tab, a dropped link,
// a 503 after a stall): the old token comes back however late, through any instance, and gets
// the current token, without a rotation or a theft signal, as often as it comes. Once the
// client finally presents the successor, the old token is under the grace window like any.
func LostAnswer(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		g0 := MustCreate(t, s, sbA, "d", 3_600_000, 0, "carol")
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000) // its answer is lost
		instances := []Backend{s, e.Open()}
		for i, wait := range []int64{10_000, 600_000, 1_800_000} {
			clock.Advance(wait)
			r := Resolve(t, instances[i%2], sbA, g0.Token[:], true, 2000)
			if r.Status != session.OK || r.Token != g1.Token || r.Rotated || string(r.Data) != "d" {
				t.Fatalf("the old token %d ms later: %+v", wait, r)
			}
		}
		for _, b := range instances {
			if st := b.Stats(); st.ReuseDetected != 0 {
				t.Fatal("a lost answer counted as reuse")
			}
		}
		if got := rotations(instances); got != 1 {
			t.Fatalf("%d rotations, want 1", got)
		}
		clock.Advance(1000)
		g2 := Resolve(t, s, sbA, g1.Token[:], true, 2000)
		if g2.Status != session.OK || !g2.Rotated {
			t.Fatalf("the successor, presented at last: %+v", g2)
		}
		if r := Resolve(t, s, sbA, g0.Token[:], true, 2000); r.Status != session.OK || r.Token != g2.Token || r.Rotated {
			t.Fatalf("the old token within grace of its successor's presentation: %+v", r)
		}
		clock.Advance(2000)
		checkReused(t, e, s, s, Resolve(t, s, sbA, g0.Token[:], true, 2000), g0.SessionID, g2.Token[:], "carol")
	})
}

// ParallelRequests: one client's requests overlap. A and B leave with g0; A rotates to g1; the
// client sends C with g1 (rotating to g2) and D with g1 before C's answer; B and D arrive late,
// within the grace window. Every one of them gets the current token, only A and C rotate, and
// the session lives on.
func ParallelRequests(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		other := e.Open()
		g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		a := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		clock.Advance(40)
		c := Resolve(t, other, sbA, a.Token[:], true, 2000)
		clock.Advance(900)
		b := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		d := Resolve(t, other, sbA, a.Token[:], true, 2000)
		for name, r := range map[string]session.ResolveResult{"A": a, "C": c} {
			if r.Status != session.OK || !r.Rotated {
				t.Fatalf("%s: %+v", name, r)
			}
		}
		for name, r := range map[string]session.ResolveResult{"B": b, "D": d} {
			if r.Status != session.OK || r.Rotated || r.Token != c.Token {
				t.Fatalf("%s: %+v", name, r)
			}
		}
		clock.Advance(5000)
		if r := Resolve(t, s, sbA, c.Token[:], true, 2000); r.Status != session.OK || !r.Rotated {
			t.Fatalf("the newest token after the overlap: %+v", r)
		}
	})
}
