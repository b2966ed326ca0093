package storetest

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

func SessionCreateAndResolve(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		res, err := SessionCreate(s, sbA, []byte(`{"cart":[1,2]}`), 60_000, 0, []byte("alice"), []byte("meta"))
		if err != nil {
			t.Fatal(err)
		}
		if res.ExpiresAt != clock.NowMs()+60_000 {
			t.Fatalf("expiresAt %d", res.ExpiresAt)
		}
		if _, ok := crypto.ParseToken(res.Token[:]); !ok {
			t.Fatalf("token %q does not parse", res.Token)
		}
		r := Resolve(t, s, sbA, res.Token[:], false, 2000)
		if r.Status != session.OK || string(r.Data) != `{"cart":[1,2]}` || r.Rotated || r.Token != res.Token || r.SessionID != res.SessionID || r.ExpiresAt != res.ExpiresAt {
			t.Fatalf("resolve = %+v", r)
		}
		r2, _ := SessionResolve(s, sbA, res.Token[:], false, 2000, 0, []byte("head"))
		if string(r2.Out) != `head{"cart":[1,2]}` {
			t.Fatalf("Out = %q", r2.Out)
		}
		other := MustCreate(t, s, sbA, "x", 60_000, 0, "")
		if other.Token == res.Token || other.SessionID == res.SessionID {
			t.Fatal("two sessions share a token or id")
		}
		// A second instance (a second sidecar on the same Redis) resolves the same session.
		if r := Resolve(t, e.Open(), sbA, res.Token[:], false, 2000); r.Status != session.OK || string(r.Data) != `{"cart":[1,2]}` {
			t.Fatalf("second instance: %+v", r)
		}
	})
}

func ResolveMalformedTokensAreNotFound(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		res := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		tok := string(res.Token[:])
		flipped := []byte(tok)
		flipped[40] ^= 1
		wrongSid := []byte(tok)
		wrongSid[3] ^= 1
		for name, token := range map[string]string{
			"empty": "", "short": tok[:69], "long": tok + "A", "bad alphabet": "*" + tok[1:],
			"wrong secret": string(flipped), "unknown sid": string(wrongSid), "spaces": strings.Repeat(" ", 70),
		} {
			r, err := SessionResolve(s, sbA, []byte(token), true, 2000, 0, nil)
			if err != nil || r.Status != session.NotFound {
				t.Errorf("%s: status %v err %v", name, r.Status, err)
			}
		}
		if r := Resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != session.OK || r.Token != res.Token {
			t.Fatal("session disturbed by malformed tokens")
		}
	})
}

// ConcurrentRotation: many goroutines (for Redis: spread over two instances, as two
// sidecars of two application instances) resolve the same token with rotate: exactly one
// successor is issued, exactly one call reports rotated, and every call returns it.
func ConcurrentRotation(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		instances := []Backend{s, e.Open()}
		for round := 0; round < 3; round++ {
			res := MustCreate(t, s, sbA, "data", 60_000, 0, "u")
			n := e.Goroutines
			if n == 0 {
				n = 200
			}
			results := make([]session.ResolveResult, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					r, err := SessionResolve(instances[i%2], sbA, res.Token[:], true, 2000, 0, nil)
					if err != nil {
						t.Error(err)
					}
					results[i] = r
				}(i)
			}
			close(start)
			wg.Wait()
			rotated := 0
			for _, r := range results {
				if r.Status != session.OK || string(r.Data) != "data" {
					t.Fatalf("a resolve failed: %+v", r)
				}
				if r.Token != results[0].Token {
					t.Fatal("two different successors")
				}
				if r.Rotated {
					rotated++
				}
			}
			if rotated != 1 || results[0].Token == res.Token {
				t.Fatalf("rotated %d times", rotated)
			}
			tk, _ := crypto.ParseToken(results[0].Token[:])
			if tk.Gen != 1 {
				t.Fatalf("successor gen %d", tk.Gen)
			}
			if got := rotations(instances); got != uint64(round+1) {
				t.Fatalf("stats rotations = %d after %d rounds", got, round+1)
			}
		}
	})
}

func ForgedGraceTokenIsNotFound(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		forged, _ := crypto.ParseToken(g0.Token[:])
		forged.Secret[0] ^= 1
		if r := Resolve(t, s, sbA, forged.AppendEncoded(nil), false, 2000); r.Status != session.NotFound {
			t.Fatalf("forged in-grace token: %v", r.Status)
		}
		future, _ := crypto.ParseToken(g1.Token[:])
		future.Gen++
		if r := Resolve(t, s, sbA, future.AppendEncoded(nil), false, 2000); r.Status != session.NotFound {
			t.Fatalf("future generation: %v", r.Status)
		}
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("session disturbed")
		}
	})
}

func MinRotateInterval(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		res := MustCreate(t, s, sbA, "d", 600_000, 0, "")
		r, _ := SessionResolve(s, sbA, res.Token[:], true, 2000, 10_000, nil)
		if r.Rotated || r.Token != res.Token {
			t.Fatal("rotated a token younger than minRotateIntervalMs")
		}
		clock.Advance(9_999)
		if r, _ := SessionResolve(s, sbA, res.Token[:], true, 2000, 10_000, nil); r.Rotated {
			t.Fatal("rotated 1 ms early")
		}
		clock.Advance(1)
		r, _ = SessionResolve(s, sbA, res.Token[:], true, 2000, 10_000, nil)
		if !r.Rotated {
			t.Fatal("did not rotate at minRotateIntervalMs")
		}
		if r2, _ := SessionResolve(s, sbA, r.Token[:], true, 2000, 10_000, nil); r2.Rotated {
			t.Fatal("rotated the fresh token")
		}
		clock.Advance(20_000)
		if r2, _ := SessionResolve(s, sbA, r.Token[:], false, 2000, 0, nil); r2.Rotated || r2.Token != r.Token {
			t.Fatal("rotated without the flag")
		}
	})
}

func TokensDoNotCrossSandboxes(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		res := MustCreate(t, s, sbA, "d", 60_000, 0, "u")
		MustCreate(t, s, sbB, "d", 60_000, 0, "u")
		if r := Resolve(t, s, sbB, res.Token[:], true, 2000); r.Status != session.NotFound {
			t.Fatal("token of A resolved in B")
		}
		if ok, _ := SessionRevoke(s, sbB, res.Token[:]); ok {
			t.Fatal("token of A revoked in B")
		}
		if r := Resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("session in A disturbed")
		}
	})
}

// rotations sums the rotations counted by each distinct instance.
func rotations(instances []Backend) uint64 {
	var n uint64
	for i, s := range instances {
		if !slices.Contains(instances[:i], s) {
			n += s.Stats().Rotations
		}
	}
	return n
}
