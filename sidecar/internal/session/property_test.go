package session

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// Property tests of the rotation rule over random interleavings of a client's events: issue
// (a request leaves with the token in the cookie jar), present (it reaches the sidecar:
// Decide), deliver (its answer arrives: the jar takes the token if it is newer, as the module
// guarantees, never an older one) and lose (the answer never arrives), with time passing in
// between, from milliseconds to hours. Requests are in flight (issued, not yet presented) for
// less than the grace window: a request stuck longer than that before it even reaches the
// sidecar, after the client moved on, is what the window bounds.
//
// XEMS_PROPERTY_SEED replays a run; every failure logs its seed.

const (
	propGrace   = 2000
	propLatency = propGrace - 1 // the longest a request is in flight before it is presented
)

func propertySeed(t *testing.T) uint64 {
	if s := os.Getenv("XEMS_PROPERTY_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// party is one holder of the session's tokens: a cookie jar and its requests.
type party struct {
	jar      crypto.Token
	inFlight []request // issued, not yet presented
	answers  []crypto.Token
}

type request struct {
	tok  crypto.Token
	sent int64
}

// sim is a session and the sidecar's rule, at a time.
type sim struct {
	t     *testing.T
	rng   *rand.Rand
	keys  *crypto.SandboxKeys
	st    State
	now   int64
	alive bool
	o     ResolveOptions
	// parties are everyone holding the session's tokens (time passes for all of them).
	parties []*party
}

func newSim(t *testing.T, rng *rand.Rand) (*sim, crypto.Token) {
	keys := testKeys(t)
	tok, err := crypto.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, rng: rng, keys: keys, now: t0, alive: true}
	s.st = State{Created: t0, AbsExp: t0 + MaxTTLMs}
	s.st.Start(keys, &tok, t0)
	s.o = ResolveOptions{Rotate: true, GraceMs: propGrace}
	if rng.IntN(4) == 0 {
		s.o.MinRotateMs = uint64(rng.IntN(5000)) // autoRotation with an interval
	}
	return s, tok
}

// present runs Decide for a request of p; the answer, if any, waits for delivery.
func (s *sim) present(p *party, i int) Outcome {
	r := p.inFlight[i]
	p.inFlight = append(p.inFlight[:i], p.inFlight[i+1:]...)
	o := s.o
	o.Rotate = s.rng.IntN(8) != 0 // some routes do not rotate
	tok := r.tok
	out := Decide(s.keys, &s.st, &tok, &o, s.now)
	if out.Status == OK {
		p.answers = append(p.answers, tok)
	}
	if out.Remove {
		s.alive = false
	}
	return out
}

// step is one random event of p; it returns the outcome of a presentation (presented false
// for the other events).
func (s *sim) step(p *party) (out Outcome, presented bool, tok crypto.Token) {
	// A request about to have been in flight too long is presented now.
	for i, r := range p.inFlight {
		if s.now-r.sent >= propLatency-100 {
			return s.present(p, i), true, r.tok
		}
	}
	switch k := s.rng.IntN(10); {
	case k < 3:
		p.inFlight = append(p.inFlight, request{p.jar, s.now})
	case k < 6 && len(p.inFlight) > 0:
		i := s.rng.IntN(len(p.inFlight))
		tok := p.inFlight[i].tok
		return s.present(p, i), true, tok
	case k < 8 && len(p.answers) > 0:
		i := s.rng.IntN(len(p.answers))
		if a := p.answers[i]; a.Gen > p.jar.Gen {
			p.jar = a
		}
		p.answers = append(p.answers[:i], p.answers[i+1:]...)
	case k < 9 && len(p.answers) > 0:
		i := s.rng.IntN(len(p.answers))
		p.answers = append(p.answers[:i], p.answers[i+1:]...) // lost
	default:
		s.pass()
	}
	return Outcome{}, false, crypto.Token{}
}

// pass lets time go by: briefly while requests are in flight, up to an hour when none is.
func (s *sim) pass() {
	busy := false
	for _, p := range s.parties {
		busy = busy || len(p.inFlight) > 0
	}
	if busy || s.rng.IntN(3) != 0 {
		s.now += int64(s.rng.IntN(100))
		return
	}
	s.now += int64(s.rng.IntN(3_600_000))
}

// TestHonestClientIsNeverLoggedOut: one client, any interleaving of its events: every
// presentation is answered with a token, and the session never ends.
func TestHonestClientIsNeverLoggedOut(t *testing.T) {
	seed := propertySeed(t)
	t.Logf("seed %d (XEMS_PROPERTY_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for run := 0; run < 1000; run++ {
		s, first := newSim(t, rng)
		client := &party{jar: first}
		s.parties = []*party{client}
		for ev := 0; ev < 400; ev++ {
			out, presented, tok := s.step(client)
			if presented && out.Status != OK {
				t.Fatalf("seed %d run %d event %d: the honest client's generation %d (current %d) got %+v",
					seed, run, ev, tok.Gen, s.st.Gen, out)
			}
		}
	}
}

// TestContradictedCopyEndsTheSession: a second party takes a copy of the client's jar at a
// random moment and uses it as its own client would. Whenever the honest client presents a
// token older than one the other party presented, grace or more after that presentation, the
// session has ended by then (at the latest, by this presentation: REUSED).
func TestContradictedCopyEndsTheSession(t *testing.T) {
	seed := propertySeed(t)
	t.Logf("seed %d (XEMS_PROPERTY_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ended, contradicted := 0, 0
	for run := 0; run < 1000; run++ {
		s, first := newSim(t, rng)
		client := &party{jar: first}
		s.parties = []*party{client}
		var thief *party
		type use struct {
			gen uint32
			at  int64
		}
		var thiefUses []use
		for ev := 0; ev < 400 && s.alive; ev++ {
			if thief == nil && rng.IntN(20) == 0 {
				thief = &party{jar: client.jar}
				s.parties = append(s.parties, thief)
			}
			p := client
			if thief != nil && rng.IntN(2) == 0 {
				p = thief
			}
			out, presented, tok := s.step(p)
			if !presented {
				continue
			}
			if p == thief {
				thiefUses = append(thiefUses, use{tok.Gen, s.now})
				continue
			}
			for _, u := range thiefUses {
				if u.gen > tok.Gen && s.now-u.at >= propGrace {
					contradicted++
					if s.alive {
						t.Fatalf("seed %d run %d event %d: the client's generation %d, after the other party's %d %d ms before, got %+v",
							seed, run, ev, tok.Gen, u.gen, s.now-u.at, out)
					}
					break
				}
			}
		}
		if !s.alive {
			ended++
		}
	}
	t.Logf("%d of 1000 sessions ended; %d contradictions, each ending its session", ended, contradicted)
	if contradicted == 0 {
		t.Fatal("no run contradicted the other party: the test exercises nothing")
	}
}
