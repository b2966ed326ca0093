package session

import (
	"math"
	"slices"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

const t0 int64 = 1_700_000_000_000 // the sessions of these tests are created then

func testKeys(t testing.TB) *crypto.SandboxKeys {
	t.Helper()
	m, err := crypto.NewMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := m.Derive("rules")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// chain is a session's tokens, generation by generation.
type chain []crypto.Token

func newChain(t testing.TB, keys *crypto.SandboxKeys, n int) chain {
	t.Helper()
	tok, err := crypto.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	c := chain{tok}
	for len(c) < n {
		tok = c[len(c)-1]
		keys.Advance(&tok)
		c = append(c, tok)
	}
	return c
}

// at is a state at generation gen of the chain: current issued at issued, first presented
// at presented (0: not yet), gen-1 at prev, older as given.
func (c chain) at(keys *crypto.SandboxKeys, gen uint32, issued, presented, prev int64, older ...uint32) State {
	st := State{Gen: gen, Verifier: keys.Verifier(&c[gen]), Created: t0, Issued: issued, Presented: presented,
		PrevPresented: prev, Older: older, AbsExp: t0 + MaxTTLMs}
	return st
}

func TestDecide(t *testing.T) {
	keys := testKeys(t)
	c := newChain(t, keys, 40)
	rot := ResolveOptions{Rotate: true, GraceMs: 2000}
	keep := ResolveOptions{GraceMs: 2000}
	// A session at generation 5: issued at +10 s, first presented at +12 s; generation 4 first
	// presented at +9 s; generation 3 at +8 s, generation 2 at +7 s (ms after creation).
	presented5 := func() State { return c.at(keys, 5, t0+10_000, t0+12_000, t0+9_000, 7_000, 8_000) }
	unpresented5 := func() State { return c.at(keys, 5, t0+10_000, 0, t0+9_000, 7_000, 8_000) }
	forged := c[4]
	forged.Secret[0] ^= 1
	future := c[5]
	future.Gen = 6
	cases := []struct {
		name    string
		st      State
		tok     crypto.Token
		o       ResolveOptions
		now     int64
		want    Outcome
		wantGen uint32 // the token handed back (OK)
		check   func(t *testing.T, st State)
	}{
		{"current, first presentation, rotates", unpresented5(), c[5], rot, t0 + 20_000,
			Outcome{Status: OK, Changed: true, Rotated: true}, 6, func(t *testing.T, st State) {
				if st.Gen != 6 || st.Issued != t0+20_000 || st.Presented != 0 || st.PrevPresented != t0+20_000 ||
					!slices.Equal(st.Older, []uint32{7_000, 8_000, 9_000}) || st.Verifier != keys.Verifier(&c[6]) {
					t.Fatalf("state after rotation %+v", st)
				}
			}},
		{"current, first presentation, no rotation", unpresented5(), c[5], keep, t0 + 20_000,
			Outcome{Status: OK, Changed: true}, 5, func(t *testing.T, st State) {
				if st.Gen != 5 || st.Presented != t0+20_000 {
					t.Fatalf("state %+v", st)
				}
			}},
		{"current, presented before, no rotation: nothing changes", presented5(), c[5], keep, t0 + 20_000,
			Outcome{Status: OK}, 5, func(t *testing.T, st State) {
				if st.Presented != t0+12_000 {
					t.Fatal("the first presentation moved")
				}
			}},
		{"current, younger than minRotate: presented, not rotated", unpresented5(), c[5], ResolveOptions{Rotate: true, GraceMs: 2000, MinRotateMs: 10_001}, t0 + 20_000,
			Outcome{Status: OK, Changed: true}, 5, nil},
		{"current, exactly minRotate old: rotates", presented5(), c[5], ResolveOptions{Rotate: true, GraceMs: 2000, MinRotateMs: 10_000}, t0 + 20_000,
			Outcome{Status: OK, Changed: true, Rotated: true}, 6, nil},
		{"previous, successor never presented, an hour late", unpresented5(), c[4], rot, t0 + 3_600_000,
			Outcome{Status: OK}, 5, func(t *testing.T, st State) {
				if st.Presented != 0 || st.Gen != 5 {
					t.Fatal("an unclaimed predecessor changed the state")
				}
			}},
		{"previous, successor presented grace-1 ms ago", presented5(), c[4], rot, t0 + 12_000 + 1999,
			Outcome{Status: OK}, 5, nil},
		{"previous, successor presented exactly grace ago", presented5(), c[4], rot, t0 + 14_000,
			Outcome{Status: Reused, Remove: true}, 0, nil},
		{"two back, grace-1 ms after its successor's first presentation", presented5(), c[3], rot, t0 + 9_000 + 1999,
			Outcome{Status: OK}, 5, nil},
		{"two back, grace after it", presented5(), c[3], rot, t0 + 11_000,
			Outcome{Status: Reused, Remove: true}, 0, nil},
		{"three back, from the history", presented5(), c[2], keep, t0 + 8_000 + 1999,
			Outcome{Status: OK}, 5, nil},
		{"four back, from the history", presented5(), c[1], keep, t0 + 7_000 + 1999,
			Outcome{Status: OK}, 5, nil},
		{"five back: forgotten", presented5(), c[0], keep, t0 + 7_000,
			Outcome{Status: Reused, Remove: true}, 0, nil},
		{"HistoryCap back: answered", c.at(keys, 33, t0, 0, t0+1, make([]uint32, MaxOlder)...), c[1], keep, t0 + 1000,
			Outcome{Status: OK}, 33, nil},
		{"HistoryCap+1 back: reuse", c.at(keys, 34, t0, 0, t0+1, make([]uint32, MaxOlder)...), c[1], keep, t0 + 1000,
			Outcome{Status: Reused, Remove: true}, 0, nil},
		{"a future generation", presented5(), future, rot, t0 + 20_000, Outcome{Status: NotFound}, 0, nil},
		{"a forged current token", presented5(), func() crypto.Token { f := c[5]; f.Secret[3] ^= 1; return f }(), rot, t0 + 20_000,
			Outcome{Status: NotFound}, 0, nil},
		{"a forged unclaimed predecessor", unpresented5(), forged, rot, t0 + 20_000, Outcome{Status: NotFound}, 0, nil},
		{"a forged predecessor in grace", presented5(), forged, rot, t0 + 12_500, Outcome{Status: NotFound}, 0, nil},
		{"a forged predecessor out of grace is still reuse (its sid proves it)", presented5(), forged, rot, t0 + 20_000,
			Outcome{Status: Reused, Remove: true}, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, tok := tc.st, tc.tok
			got := Decide(keys, &st, &tok, &tc.o, tc.now)
			if got != tc.want {
				t.Fatalf("outcome %+v, want %+v", got, tc.want)
			}
			if got.Status == OK && tok != c[tc.wantGen] {
				t.Fatalf("handed back generation %d, want %d", tok.Gen, tc.wantGen)
			}
			if !got.Changed && (st.Gen != tc.st.Gen || st.Presented != tc.st.Presented || st.Verifier != tc.st.Verifier) {
				t.Fatal("the state changed without Changed")
			}
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

func TestDecideBinding(t *testing.T) {
	keys := testKeys(t)
	c := newChain(t, keys, 3)
	base := c.at(keys, 1, t0, 0, t0)
	base.bind(keys, BindIPSubnet|BindAgent, []byte("10.0.0.1"), []byte("ua"))
	for _, tc := range []struct {
		name      string
		tok       crypto.Token
		presented int64 // the current generation's first presentation
		action    MismatchAction
		ip, ua    string
		want      Outcome
	}{
		{"matching client", c[1], 0, MismatchRevoke, "10.0.0.99", "ua", Outcome{Status: OK, Changed: true, Rotated: true}},
		{"revoke", c[1], 0, MismatchRevoke, "10.0.1.1", "ua", Outcome{Status: Mismatched, Mismatch: MismatchIP, Remove: true}},
		{"reject changes nothing, not even the first presentation", c[1], 0, MismatchReject, "10.0.0.1", "other",
			Outcome{Status: Mismatched, Mismatch: MismatchAgent}},
		{"log serves and rotates", c[1], 0, MismatchLog, "10.9.0.1", "x", Outcome{Status: OK, Mismatch: MismatchIP | MismatchAgent, Changed: true, Rotated: true}},
		{"an unclaimed predecessor is checked too", c[0], 0, MismatchReject, "10.0.1.1", "ua", Outcome{Status: Mismatched, Mismatch: MismatchIP}},
		{"reuse is found before the binding", c[0], t0 - 5000, MismatchReject, "10.0.1.1", "ua", Outcome{Status: Reused, Remove: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, tok := base, tc.tok
			st.Presented = tc.presented
			o := ResolveOptions{Rotate: true, GraceMs: 2000, CheckBinding: true, OnMismatch: tc.action, IP: []byte(tc.ip), UserAgent: []byte(tc.ua)}
			got := Decide(keys, &st, &tok, &o, t0)
			if got != tc.want {
				t.Fatalf("outcome %+v, want %+v", got, tc.want)
			}
			if got.Status == Mismatched && (st.Presented != tc.presented || st.Gen != base.Gen) {
				t.Fatal("a refused request changed the state")
			}
		})
	}
}

// TestLastGeneration: a session at generation 2^32-1 is served but never rotates further.
func TestLastGeneration(t *testing.T) {
	keys := testKeys(t)
	tok, _ := crypto.NewToken()
	tok.Gen = math.MaxUint32
	st := State{Gen: math.MaxUint32, Verifier: keys.Verifier(&tok), Created: t0, Issued: t0, AbsExp: t0 + MaxTTLMs}
	o := ResolveOptions{Rotate: true, GraceMs: 2000}
	if out := Decide(keys, &st, &tok, &o, t0+1); out != (Outcome{Status: OK, Changed: true}) || st.Gen != math.MaxUint32 {
		t.Fatalf("%+v, generation %d", out, st.Gen)
	}
}

// TestRotationHistory: the history keeps what a grace window may need and nothing more.
func TestRotationHistory(t *testing.T) {
	keys := testKeys(t)
	c := newChain(t, keys, 200)
	present := func(st *State, now int64) {
		t.Helper()
		tok := c[st.Gen]
		o := ResolveOptions{Rotate: true, GraceMs: MaxGraceMs}
		if out := Decide(keys, st, &tok, &o, now); !out.Rotated {
			t.Fatalf("no rotation at generation %d", st.Gen)
		}
	}
	t.Run("rotations 1 s apart keep the last minute, at most MaxOlder", func(t *testing.T) {
		st := c.at(keys, 0, t0, 0, 0)
		for i := 1; i <= 100; i++ {
			present(&st, t0+int64(i)*1000)
			want := min(max(int(st.Gen)-2, 0), MaxOlder)
			if len(st.Older) != want {
				t.Fatalf("generation %d: %d entries, want %d", st.Gen, len(st.Older), want)
			}
			for j, v := range st.Older { // oldest first, the last one Gen-2's first presentation
				if want := uint32(int(st.Gen)-len(st.Older)+j) * 1000; v != want {
					t.Fatalf("generation %d: entry %d is %d, want %d", st.Gen, j, v, want)
				}
			}
		}
	})
	t.Run("entries over MaxGraceMs old are dropped", func(t *testing.T) {
		st := c.at(keys, 0, t0, 0, 0)
		for i := 1; i <= 10; i++ {
			present(&st, t0+int64(i)*25_000)
		}
		// Generation 10, rotated at 250 s: Gen-2 was first presented at 225 s, Gen-3 at 200 s,
		// Gen-4 at 175 s (a minute or more before the rotation: dropped).
		if !slices.Equal(st.Older, []uint32{200_000, 225_000}) {
			t.Fatalf("history %v, want [200000 225000]", st.Older)
		}
		st.PruneOlder(t0 + 260_000)
		if !slices.Equal(st.Older, []uint32{225_000}) {
			t.Fatalf("history %v after a prune, want [225000]", st.Older)
		}
		st.PruneOlder(t0 + 285_000)
		if len(st.Older) != 0 {
			t.Fatalf("history %v after a prune, want none", st.Older)
		}
	})
	t.Run("a rotation a minute after the previous one forgets the history", func(t *testing.T) {
		st := c.at(keys, 0, t0, 0, 0)
		for i := 1; i <= 5; i++ {
			present(&st, t0+int64(i)*100)
		}
		present(&st, t0+500+MaxGraceMs)
		if st.Older != nil {
			t.Fatalf("history %v", st.Older)
		}
	})
}

func TestFromIssueTimes(t *testing.T) {
	// A session of the earlier layout at generation 6, issued at +60 s; generations 5, 4, 3
	// issued at +50, +40, +30 s.
	st := State{Gen: 6, Created: t0, Issued: t0 + 60_000}
	st.FromIssueTimes([]uint32{30_000, 40_000, 50_000})
	if st.Presented != t0+60_000 || st.PrevPresented != t0+50_000 || !slices.Equal(st.Older, []uint32{30_000, 40_000}) {
		t.Fatalf("%+v", st)
	}
	// Without a list, Gen-1 was issued at least MaxGraceMs before Gen: Gen-2 is reuse at once.
	st = State{Gen: 6, Created: t0, Issued: t0 + 100_000}
	st.FromIssueTimes(nil)
	if at, presented, known := st.successorPresented(4); !presented || !known || at+MaxGraceMs > st.Issued {
		t.Fatalf("Gen-2 would be answered until %d (issued %d)", at+MaxGraceMs, st.Issued)
	}
	st = State{Gen: 1, Created: t0, Issued: t0 + 10}
	st.FromIssueTimes(nil)
	if st.PrevPresented != t0 {
		t.Fatalf("%+v", st)
	}
	st.FromIssueTimes(make([]uint32, HistoryCap-1)) // the most the earlier layout kept
	if len(st.Older) != MaxOlder {
		t.Fatalf("%d entries kept", len(st.Older))
	}
}

func TestDeadline(t *testing.T) {
	for _, c := range []struct {
		d    Deadline
		now  int64
		want bool
	}{
		{NoDeadline, math.MaxInt64, false}, {1000, 999, false}, {1000, 1000, true}, {1000, 1001, true},
	} {
		if got := c.d.Passed(c.now); got != c.want {
			t.Errorf("Deadline(%d).Passed(%d) = %v", c.d, c.now, got)
		}
	}
}
