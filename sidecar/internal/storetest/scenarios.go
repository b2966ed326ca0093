package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func Errors(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		big := make([]byte, store.DefaultMaxValueSize+1)
		longKey := make([]byte, store.MaxKeySize+1)
		bad := []byte("bad name")
		created := MustCreate(t, s, sbA, "d", 1000, 0, "u")
		tok := created.Token[:]
		cases := []struct {
			name string
			call func() error
			want xerr.Code
		}{
			{"KV_SET bad sandbox", func() error { _, err := s.KVSet(bad, []byte("k"), nil, 1); return err }, xerr.InvalidSandbox},
			{"KV_SET empty key", func() error { _, err := s.KVSet(sbA, nil, nil, 1); return err }, xerr.BadRequest},
			{"KV_SET key too large", func() error { _, err := s.KVSet(sbA, longKey, nil, 1); return err }, xerr.KeyTooLarge},
			{"KV_SET value too large", func() error { _, err := s.KVSet(sbA, []byte("k"), big, 1); return err }, xerr.ValueTooLarge},
			{"KV_SET ttl 0", func() error { _, err := s.KVSet(sbA, []byte("k"), nil, 0); return err }, xerr.InvalidTTL},
			{"KV_SET ttl over 5 days", func() error { _, err := s.KVSet(sbA, []byte("k"), nil, store.MaxTTLMs+1); return err }, xerr.InvalidTTL},
			{"KV_GET bad sandbox", func() error { _, _, _, err := s.KVGet(bad, []byte("k"), nil); return err }, xerr.InvalidSandbox},
			{"KV_GET empty key", func() error { _, _, _, err := s.KVGet(sbA, nil, nil); return err }, xerr.BadRequest},
			{"KV_GET key too large", func() error { _, _, _, err := s.KVGet(sbA, longKey, nil); return err }, xerr.KeyTooLarge},
			{"KV_DEL bad sandbox", func() error { _, err := s.KVDel(bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_DEL key too large", func() error { _, err := s.KVDel(sbA, longKey); return err }, xerr.KeyTooLarge},
			{"KV_HAS bad sandbox", func() error { _, err := s.KVHas(bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_HAS empty key", func() error { _, err := s.KVHas(sbA, nil); return err }, xerr.BadRequest},
			{"KV_TTL bad sandbox", func() error { _, _, err := s.KVTTL(bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_TTL key too large", func() error { _, _, err := s.KVTTL(sbA, longKey); return err }, xerr.KeyTooLarge},
			{"KV_TOUCH bad sandbox", func() error { _, _, err := s.KVTouch(bad, []byte("k"), 1); return err }, xerr.InvalidSandbox},
			{"KV_TOUCH ttl 0", func() error { _, _, err := s.KVTouch(sbA, []byte("k"), 0); return err }, xerr.InvalidTTL},
			{"KV_TOUCH ttl over 5 days", func() error { _, _, err := s.KVTouch(sbA, []byte("k"), store.MaxTTLMs+1); return err }, xerr.InvalidTTL},
			{"KV_SCAN bad sandbox", func() error { _, _, err := s.KVScan(bad, nil, nil, 10); return err }, xerr.InvalidSandbox},
			{"KV_SCAN limit 0", func() error { _, _, err := s.KVScan(sbA, nil, nil, 0); return err }, xerr.BadRequest},
			{"KV_SCAN limit 1001", func() error { _, _, err := s.KVScan(sbA, nil, nil, 1001); return err }, xerr.BadRequest},
			{"KV_SCAN bad cursor", func() error { _, _, err := s.KVScan(sbA, nil, []byte("garbage!"), 10); return err }, xerr.BadRequest},
			{"KV_SCAN prefix too large", func() error { _, _, err := s.KVScan(sbA, longKey, nil, 10); return err }, xerr.KeyTooLarge},
			{"CLEAR bad sandbox", func() error { _, err := s.Clear(bad); return err }, xerr.InvalidSandbox},
			{"S_CREATE bad sandbox", func() error { _, err := s.SessionCreate(bad, nil, 1, 0, nil, nil); return err }, xerr.InvalidSandbox},
			{"S_CREATE data too large", func() error { _, err := s.SessionCreate(sbA, big, 1, 0, nil, nil); return err }, xerr.ValueTooLarge},
			{"S_CREATE meta too large", func() error { _, err := s.SessionCreate(sbA, nil, 1, 0, nil, big); return err }, xerr.ValueTooLarge},
			{"S_CREATE ttl 0", func() error { _, err := s.SessionCreate(sbA, nil, 0, 0, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE ttl over 5 days", func() error { _, err := s.SessionCreate(sbA, nil, store.MaxTTLMs+1, 0, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE idle over 5 days", func() error { _, err := s.SessionCreate(sbA, nil, 1, store.MaxTTLMs+1, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE bind mode 3", func() error {
				_, err := s.SessionCreateWith(sbA, nil, store.CreateOptions{TTLMs: 1, Bind: 3})
				return err
			}, xerr.BadRequest},
			{"S_CREATE onLimit 2", func() error {
				_, err := s.SessionCreateWith(sbA, nil, store.CreateOptions{TTLMs: 1, OnLimit: 2})
				return err
			}, xerr.BadRequest},
			{"S_RESOLVE bad sandbox", func() error { _, err := s.SessionResolve(bad, tok, false, 0, 0, nil); return err }, xerr.InvalidSandbox},
			{"S_RESOLVE grace over max", func() error { _, err := s.SessionResolve(sbA, tok, false, store.MaxGraceMs+1, 0, nil); return err }, xerr.BadRequest},
			{"S_RESOLVE onMismatch 3", func() error {
				_, err := s.SessionResolveWith(sbA, tok, store.ResolveOptions{CheckBinding: true, OnMismatch: 3}, nil)
				return err
			}, xerr.BadRequest},
			{"S_UPDATE bad sandbox", func() error { _, _, err := s.SessionUpdate(bad, tok, nil); return err }, xerr.InvalidSandbox},
			{"S_UPDATE data too large", func() error { _, _, err := s.SessionUpdate(sbA, tok, big); return err }, xerr.ValueTooLarge},
			{"S_UPDATE grace over max", func() error {
				_, _, err := s.SessionUpdateGrace(sbA, tok, nil, store.MaxGraceMs+1)
				return err
			}, xerr.BadRequest},
			{"S_REVOKE bad sandbox", func() error { _, err := s.SessionRevoke(bad, tok); return err }, xerr.InvalidSandbox},
			{"S_LIST bad sandbox", func() error { _, err := s.SessionList(bad, []byte("u")); return err }, xerr.InvalidSandbox},
			{"S_REVOKE_ALL bad sandbox", func() error { _, err := s.SessionRevokeAll(bad, []byte("u"), nil); return err }, xerr.InvalidSandbox},
			{"S_REVOKE_ID bad sandbox", func() error { _, err := s.SessionRevokeID(bad, []byte("x")); return err }, xerr.InvalidSandbox},
			{"S_REGENERATE grace over max", func() error {
				_, err := s.SessionRegenerate(sbA, tok, store.MaxGraceMs+1, true, nil)
				return err
			}, xerr.BadRequest},
			{"S_REGENERATE keepData with data", func() error { _, err := s.SessionRegenerate(sbA, tok, 0, true, []byte("x")); return err }, xerr.BadRequest},
			{"S_REGENERATE data too large", func() error { _, err := s.SessionRegenerate(sbA, tok, 0, false, big); return err }, xerr.ValueTooLarge},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got := ErrCode(c.call()); got != c.want {
					t.Fatalf("error code %v, want %v", got, c.want)
				}
			})
		}
	})
}

func KVOperations(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		k := []byte("user:1")
		if _, _, found, err := s.KVGet([]byte("nosuch"), k, nil); found || err != nil {
			t.Fatal("found in a sandbox never written")
		}
		exp, err := s.KVSet(sbA, k, []byte("v1"), 5000)
		if err != nil || exp != clock.NowMs()+5000 {
			t.Fatalf("set: %d %v", exp, err)
		}
		v, gexp, found, err := s.KVGet(sbA, k, []byte("prefix:"))
		if err != nil || !found || string(v) != "prefix:v1" || gexp < exp-50 || gexp > exp {
			t.Fatalf("get: %q %d (set said %d) %v %v", v, gexp, exp, found, err)
		}
		if _, err := s.KVSet(sbA, []byte("empty"), nil, 5000); err != nil {
			t.Fatal(err)
		}
		if v, _, found, _ := s.KVGet(sbA, []byte("empty"), nil); !found || len(v) != 0 {
			t.Fatal("empty value not found as empty")
		}
		s.KVSet(sbA, k, []byte("v2"), 5000)
		if v, _, _, _ := s.KVGet(sbA, k, nil); string(v) != "v2" {
			t.Fatalf("overwrite: got %q", v)
		}
		if ok, _ := s.KVHas(sbA, k); !ok {
			t.Fatal("has = false")
		}
		if ok, _ := s.KVHas(sbA, []byte("missing")); ok {
			t.Fatal("has(missing) = true")
		}
		if rem, found, _ := s.KVTTL(sbA, k); !found || rem <= 4000 || rem > 5000 {
			t.Fatalf("ttl = %d %v", rem, found)
		}
		if _, found, _ := s.KVTTL(sbA, []byte("missing")); found {
			t.Fatal("ttl of missing key found")
		}
		exp, found, err = s.KVTouch(sbA, k, 10_000)
		if err != nil || !found || exp != clock.NowMs()+10_000 {
			t.Fatalf("touch = %d %v %v", exp, found, err)
		}
		if rem, _, _ := s.KVTTL(sbA, k); rem <= 9000 {
			t.Fatalf("ttl after touch %d", rem)
		}
		if _, found, _ := s.KVTouch(sbA, []byte("missing"), 10); found {
			t.Fatal("touch of missing key found")
		}
		if ok, _ := s.KVDel(sbA, k); !ok {
			t.Fatal("del of existing = false")
		}
		if ok, _ := s.KVDel(sbA, k); ok {
			t.Fatal("second del = true")
		}
		if _, _, found, _ := s.KVGet(sbA, k, nil); found {
			t.Fatal("found after del")
		}
		s.KVSet(sbA, k, []byte("in A"), 5000)
		if _, _, found, _ := s.KVGet(sbB, k, nil); found {
			t.Fatal("key visible in another sandbox")
		}
		s.KVSet(sbB, k, []byte("in B"), 5000)
		a, _, _, _ := s.KVGet(sbA, k, nil)
		b, _, _, _ := s.KVGet(sbB, k, nil)
		if string(a) != "in A" || string(b) != "in B" {
			t.Fatal("sandboxes share a key")
		}
		// Clear: the KV records and sessions of one sandbox (and its user indexes), counted.
		s.KVSet(sbA, []byte("another"), []byte("x"), 5000)
		MustCreate(t, s, sbA, "d", 5000, 0, "user")
		n, err := s.Clear(sbA)
		if err != nil || n != 4 { // user:1, empty, another, one session
			t.Fatalf("clear removed %d, %v", n, err)
		}
		if _, _, found, _ := s.KVGet(sbA, []byte("another"), nil); found {
			t.Fatal("found after clear")
		}
		if l, _ := s.SessionList(sbA, []byte("user")); len(l) != 0 {
			t.Fatal("a session survived clear")
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
			t.Fatal("user index not cleared")
		}
		if v, _, found, _ := s.KVGet(sbB, k, nil); !found || string(v) != "in B" {
			t.Fatal("clear touched another sandbox")
		}
		if n, _ := s.Clear([]byte("never-written")); n != 0 {
			t.Fatal("clear of an unknown sandbox removed something")
		}
	})
}

func FiveDayCap(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		created := clock.NowMs()
		s.KVSet(sbA, []byte("k"), []byte("v"), 60_000)
		clock.Advance(10_000)
		exp, found, err := s.KVTouch(sbA, []byte("k"), store.MaxTTLMs)
		if err != nil || !found || exp != created+store.MaxTTLMs {
			t.Fatalf("touch past the cap: %d (want %d) %v %v", exp-created, store.MaxTTLMs, found, err)
		}
		res := MustCreate(t, s, sbA, "d", store.MaxTTLMs, store.MaxTTLMs, "")
		r := Resolve(t, s, sbA, res.Token[:], true, 2000)
		if r.ExpiresAt != created+10_000+store.MaxTTLMs {
			t.Fatalf("session expiry %d", r.ExpiresAt-created)
		}
	})
}

func KVScan(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		var want []string
		for i := 0; i < 600; i++ {
			name := fmt.Sprintf("user:%04d", i)
			want = append(want, name)
			s.KVSet(sbA, []byte(name), []byte("v"), 60_000)
			s.KVSet(sbA, []byte(fmt.Sprintf("job:%04d", i)), []byte("v"), 60_000)
		}
		s.KVSet(sbB, []byte("user:other-sandbox"), []byte("v"), 60_000)
		t.Run("every key when nothing changes", func(t *testing.T) {
			for _, limit := range []uint32{1000, 97, 7} {
				got := ScanAll(t, s, sbA, "user:", limit, nil)
				slices.Sort(got)
				got = slices.Compact(got)
				if !slices.Equal(got, want) {
					t.Fatalf("limit %d: scan returned %d names, want %d", limit, len(got), len(want))
				}
			}
		})
		t.Run("keys present throughout are returned while others come and go", func(t *testing.T) {
			i := 0
			got := ScanAll(t, s, sbA, "user:", 50, func() {
				s.KVDel(sbA, []byte(fmt.Sprintf("job:%04d", i)))
				s.KVSet(sbA, []byte(fmt.Sprintf("user:new-%d", i)), []byte("v"), 60_000)
				i++
			})
			seen := map[string]bool{}
			for _, n := range got {
				seen[n] = true
			}
			for _, w := range want {
				if !seen[w] {
					t.Fatalf("%s missing", w)
				}
			}
		})
		t.Run("unknown sandbox is an empty scan", func(t *testing.T) {
			got, next, err := s.KVScan([]byte("nosuch"), nil, nil, 10)
			if err != nil || len(got) != 0 || next != "" {
				t.Fatalf("unknown sandbox scan: %d %q %v", len(got), next, err)
			}
		})
		t.Run("names are returned exactly", func(t *testing.T) {
			bin := []byte{0, 1, 2, 0xff, 'x'}
			s.KVSet(sbB, bin, []byte("value"), 60_000)
			got, next, _ := s.KVScan(sbB, []byte{0}, nil, 10)
			for next != "" && len(got) == 0 {
				got, next, _ = s.KVScan(sbB, []byte{0}, []byte(next), 10)
			}
			if len(got) != 1 || !bytes.Equal(got[0], bin) {
				t.Fatalf("got %q", got)
			}
		})
	})
}

func SessionCreateAndResolve(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		res, err := s.SessionCreate(sbA, []byte(`{"cart":[1,2]}`), 60_000, 0, []byte("alice"), []byte("meta"))
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
		if r.Status != store.OK || string(r.Data) != `{"cart":[1,2]}` || r.Rotated || r.Token != res.Token || r.SessionID != res.SessionID || r.ExpiresAt != res.ExpiresAt {
			t.Fatalf("resolve = %+v", r)
		}
		r2, _ := s.SessionResolve(sbA, res.Token[:], false, 2000, 0, []byte("head"))
		if string(r2.Out) != `head{"cart":[1,2]}` {
			t.Fatalf("Out = %q", r2.Out)
		}
		other := MustCreate(t, s, sbA, "x", 60_000, 0, "")
		if other.Token == res.Token || other.SessionID == res.SessionID {
			t.Fatal("two sessions share a token or id")
		}
		// A second instance (a second sidecar on the same Redis) resolves the same session.
		if r := Resolve(t, e.Open(), sbA, res.Token[:], false, 2000); r.Status != store.OK || string(r.Data) != `{"cart":[1,2]}` {
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
			r, err := s.SessionResolve(sbA, []byte(token), true, 2000, 0, nil)
			if err != nil || r.Status != store.NotFound {
				t.Errorf("%s: status %v err %v", name, r.Status, err)
			}
		}
		if r := Resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != store.OK || r.Token != res.Token {
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
			results := make([]store.ResolveResult, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					r, err := instances[i%2].SessionResolve(sbA, res.Token[:], true, 2000, 0, nil)
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
				if r.Status != store.OK || string(r.Data) != "data" {
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

func GraceWindowEdges(t *testing.T, each Each) {
	const grace = 2000
	for _, c := range []struct {
		name  string
		after int64
		want  store.Status
	}{
		{"grace-1 ms", grace - 1, store.OK},
		{"exactly grace", grace, store.Reused},
		{"grace+1 ms", grace + 1, store.Reused},
	} {
		t.Run(c.name, func(t *testing.T) {
			each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
				res := MustCreate(t, s, sbA, "d", 60_000, 0, "bob")
				r1 := Resolve(t, s, sbA, res.Token[:], true, grace)
				if !r1.Rotated {
					t.Fatal("did not rotate")
				}
				clock.Advance(c.after)
				other := e.Open() // the old token comes back through the other instance
				r := Resolve(t, other, sbA, res.Token[:], true, grace)
				if r.Status != c.want {
					t.Fatalf("status %v, want %v", r.Status, c.want)
				}
				if c.want == store.OK {
					if r.Token != r1.Token || r.Rotated || string(r.Data) != "d" {
						t.Fatalf("in grace: got %+v", r)
					}
					if r := Resolve(t, s, sbA, r1.Token[:], false, grace); r.Status != store.OK || r.Token != r1.Token {
						t.Fatal("current token broken by a grace resolve")
					}
					return
				}
				if r.SessionID != res.SessionID {
					t.Fatal("REUSED does not name the session")
				}
				if r := Resolve(t, s, sbA, r1.Token[:], false, grace); r.Status != store.NotFound {
					t.Fatal("current token survived reuse detection")
				}
				if other.Stats().ReuseDetected != 1 {
					t.Fatal("reuse not counted")
				}
				if e.IndexSize != nil && e.IndexSize(sbA) != 0 {
					t.Fatal("index not cleaned")
				}
				if l, _ := s.SessionList(sbA, []byte("bob")); len(l) != 0 {
					t.Fatal("index not cleaned")
				}
			})
		})
	}
}

func Grandparent(t *testing.T, each Each) {
	const grace = 2000
	setup := func(t *testing.T, s Backend, clock *FakeClock) (store.CreateResult, store.ResolveResult) {
		g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		g1 := Resolve(t, s, sbA, g0.Token[:], true, grace)
		clock.Advance(500)
		g2 := Resolve(t, s, sbA, g1.Token[:], true, grace)
		if !g1.Rotated || !g2.Rotated {
			t.Fatal("setup did not rotate twice")
		}
		return g0, g2
	}
	t.Run("inside grace returns the current token", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			g0, g2 := setup(t, s, clock)
			clock.Advance(grace - 500 - 1)
			r := Resolve(t, s, sbA, g0.Token[:], true, grace)
			if r.Status != store.OK || r.Token != g2.Token || r.Rotated {
				t.Fatalf("grandparent in grace: %+v", r)
			}
		})
	})
	t.Run("outside grace is reuse even if its child is in grace", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
			g0, g2 := setup(t, s, clock)
			clock.Advance(grace - 500 + 1)
			if r := Resolve(t, s, sbA, g0.Token[:], true, grace); r.Status != store.Reused {
				t.Fatalf("status %v", r.Status)
			}
			if r := Resolve(t, s, sbA, g2.Token[:], true, grace); r.Status != store.NotFound {
				t.Fatal("session survived")
			}
		})
	})
}

func GraceListCap(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		first := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		tok := first.Token
		tokens := [][crypto.TokenLength]byte{tok}
		for i := 0; i < e.GraceCap+1; i++ {
			r := Resolve(t, s, sbA, tok[:], true, 2000)
			tok = r.Token
			tokens = append(tokens, tok)
		}
		if r := Resolve(t, s, sbA, tokens[1][:], false, 2000); r.Status != store.OK || r.Token != tok {
			t.Fatalf("gen 1 (in the list) = %v", r.Status)
		}
		if r := Resolve(t, s, sbA, tokens[0][:], false, 2000); r.Status != store.Reused {
			t.Fatalf("gen 0 (pushed out) = %v", r.Status)
		}
	})
}

func ForgedGraceTokenIsNotFound(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		forged, _ := crypto.ParseToken(g0.Token[:])
		forged.Secret[0] ^= 1
		if r := Resolve(t, s, sbA, forged.AppendEncoded(nil), false, 2000); r.Status != store.NotFound {
			t.Fatalf("forged in-grace token: %v", r.Status)
		}
		future, _ := crypto.ParseToken(g1.Token[:])
		future.Gen++
		if r := Resolve(t, s, sbA, future.AppendEncoded(nil), false, 2000); r.Status != store.NotFound {
			t.Fatalf("future generation: %v", r.Status)
		}
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("session disturbed")
		}
	})
}

func MinRotateInterval(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		res := MustCreate(t, s, sbA, "d", 600_000, 0, "")
		r, _ := s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil)
		if r.Rotated || r.Token != res.Token {
			t.Fatal("rotated a token younger than minRotateIntervalMs")
		}
		clock.Advance(9_999)
		if r, _ := s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil); r.Rotated {
			t.Fatal("rotated 1 ms early")
		}
		clock.Advance(1)
		r, _ = s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil)
		if !r.Rotated {
			t.Fatal("did not rotate at minRotateIntervalMs")
		}
		if r2, _ := s.SessionResolve(sbA, r.Token[:], true, 2000, 10_000, nil); r2.Rotated {
			t.Fatal("rotated the fresh token")
		}
		clock.Advance(20_000)
		if r2, _ := s.SessionResolve(sbA, r.Token[:], false, 2000, 0, nil); r2.Rotated || r2.Token != r.Token {
			t.Fatal("rotated without the flag")
		}
	})
}

func Revoke(t *testing.T, each Each) {
	t.Run("revoke kills tokens in grace", func(t *testing.T) {
		each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
			g0 := MustCreate(t, s, sbA, "d", 60_000, 0, "u")
			g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
			if ok, _ := s.SessionRevoke(sbA, g1.Token[:]); !ok {
				t.Fatal("revoke = false")
			}
			if r := Resolve(t, s, sbA, g0.Token[:], false, 2000); r.Status != store.NotFound {
				t.Fatalf("grace token after revoke: %v", r.Status)
			}
			if ok, _ := s.SessionRevoke(sbA, g1.Token[:]); ok {
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
					clock.Advance(store.MaxGraceMs + 1)
				}
				if ok, _ := s.SessionRevoke(sbA, g0.Token[:]); !ok {
					t.Fatal("revoke = false")
				}
				if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != store.NotFound {
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
			if ok, _ := s.SessionRevoke(sbA, forged); ok {
				t.Fatal("forged current token revoked")
			}
			if ok, _ := s.SessionRevoke(sbA, []byte("nonsense")); ok {
				t.Fatal("nonsense revoked")
			}
		})
	})
}

func Update(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		g0, err := s.SessionCreate(sbA, []byte("v0"), 60_000, 10_000, []byte("u"), []byte("the-meta"))
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(5_000)
		exp, ok, err := s.SessionUpdate(sbA, g0.Token[:], []byte("v1"))
		if err != nil || !ok || exp != clock.NowMs()+10_000 {
			t.Fatalf("update current = %d %v %v (update must slide the idle deadline)", exp, ok, err)
		}
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		if string(g1.Data) != "v1" {
			t.Fatalf("data %q", g1.Data)
		}
		if _, ok, _ := s.SessionUpdate(sbA, g0.Token[:], []byte("v2")); !ok {
			t.Fatal("update with an in-grace token refused")
		}
		clock.Advance(store.DefaultGraceMs)
		if _, ok, _ := s.SessionUpdate(sbA, g0.Token[:], []byte("v3")); ok {
			t.Fatal("update with a token outside grace accepted")
		}
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); string(r.Data) != "v2" {
			t.Fatalf("data %q", r.Data)
		}
		list, _ := s.SessionList(sbA, []byte("u"))
		if len(list) != 1 || string(list[0].Meta) != "the-meta" {
			t.Fatal("update lost the meta")
		}
		if _, ok, _ := s.SessionUpdate(sbA, []byte("garbage"), []byte("x")); ok {
			t.Fatal("garbage token updated")
		}
		// Grace is the caller's.
		clock.Advance(1)
		c := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		Resolve(t, s, sbA, c.Token[:], true, 2000)
		clock.Advance(3_000)
		if _, ok, _ := s.SessionUpdateGrace(sbA, c.Token[:], []byte("x"), 2_000); ok {
			t.Fatal("accepted a token superseded 3 s ago with a 2 s grace")
		}
		if _, ok, _ := s.SessionUpdateGrace(sbA, c.Token[:], []byte("x"), 5_000); !ok {
			t.Fatal("refused a token superseded 3 s ago with a 5 s grace")
		}
	})
}

func ListRevokeAllRevokeID(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		var alice []store.CreateResult
		for i := 0; i < 3; i++ {
			res, err := s.SessionCreate(sbA, []byte("d"), 60_000, 0, []byte("alice"), []byte{'m', byte('0' + i)})
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
		n, err := s.SessionRevokeAll(sbA, []byte("alice"), alice[1].Token[:])
		if err != nil || n != 2 {
			t.Fatalf("revokeAll = %d %v", n, err)
		}
		if r := Resolve(t, s, sbA, cur.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("the excepted session was revoked")
		}
		if r := Resolve(t, s, sbA, alice[0].Token[:], false, 2000); r.Status != store.NotFound {
			t.Fatal("a revoked session resolves")
		}
		if r := Resolve(t, s, sbA, bob.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("another user's session was revoked")
		}
		if n, _ := s.SessionRevokeAll(sbA, []byte("alice"), bob.Token[:]); n != 1 {
			t.Fatalf("revokeAll with a foreign except token revoked %d", n)
		}
		if e.IndexSize != nil && e.IndexSize(sbA) != 1 {
			t.Fatalf("index size %d, want 1 (bob)", e.IndexSize(sbA))
		}
		id := crypto.AppendID(nil, &bob.SessionID)
		if ok, _ := s.SessionRevokeID(sbB, id); ok {
			t.Fatal("revoke by id crossed sandboxes")
		}
		if ok, _ := s.SessionRevokeID(sbA, id); !ok {
			t.Fatal("revoke by id = false")
		}
		if ok, _ := s.SessionRevokeID(sbA, id); ok {
			t.Fatal("second revoke by id = true")
		}
		if ok, _ := s.SessionRevokeID(sbA, []byte("not-an-id")); ok {
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
		a := CreateWith(t, s, sbA, "a", store.CreateOptions{UserID: u})
		b := CreateWith(t, s, sbA, "b", store.CreateOptions{UserID: u})
		c := CreateWith(t, s, sbA, "c", store.CreateOptions{UserID: u})
		ids, err := s.SessionRevokeAllIDs(sbA, u, []byte(crypto.EncodeID(&b.SessionID)))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ids, func(x, y crypto.Digest) int { return bytes.Compare(x[:], y[:]) })
		want := []crypto.Digest{a.SessionID, c.SessionID}
		slices.SortFunc(want, func(x, y crypto.Digest) int { return bytes.Compare(x[:], y[:]) })
		if !slices.Equal(ids, want) {
			t.Fatalf("revoked %v, want %v", ids, want)
		}
		if r := Resolve(t, s, sbA, b.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("the excepted session was revoked")
		}
		sid, existed, err := s.SessionRevokeToken(sbA, b.Token[:])
		if err != nil || !existed || sid != b.SessionID {
			t.Fatal("SessionRevokeToken does not report the id")
		}
	})
}

func TokensDoNotCrossSandboxes(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		res := MustCreate(t, s, sbA, "d", 60_000, 0, "u")
		MustCreate(t, s, sbB, "d", 60_000, 0, "u")
		if r := Resolve(t, s, sbB, res.Token[:], true, 2000); r.Status != store.NotFound {
			t.Fatal("token of A resolved in B")
		}
		if ok, _ := s.SessionRevoke(sbB, res.Token[:]); ok {
			t.Fatal("token of A revoked in B")
		}
		if r := Resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("session in A disturbed")
		}
	})
}

func BindingModesAndActions(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		type attempt struct {
			ip, ua string
			want   uint8
		}
		modes := []struct {
			name     string
			bind     store.BindMode
			attempts []attempt
		}{
			{"subnet", store.BindIPSubnet, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.77", "b", 0}, {"10.0.1.1", "a", store.MismatchIP}}},
			{"exact", store.BindIPExact, []attempt{{"10.0.0.1", "b", 0}, {"10.0.0.2", "a", store.MismatchIP}}},
			{"agent", store.BindAgent, []attempt{{"192.168.9.9", "a", 0}, {"10.0.0.1", "a/2", store.MismatchAgent}}},
			{"exact+agent", store.BindIPExact | store.BindAgent, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.2", "b", store.MismatchIP | store.MismatchAgent}}},
			{"none", 0, []attempt{{"1.1.1.1", "z", 0}}},
		}
		for _, m := range modes {
			for _, action := range []store.MismatchAction{store.MismatchRevoke, store.MismatchReject, store.MismatchLog} {
				for _, a := range m.attempts {
					name := fmt.Sprintf("%s/%s/%s+%s", m.name, action, a.ip, a.ua)
					c := CreateWith(t, s, sbA, "d", store.CreateOptions{Bind: m.bind, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
					before := s.Stats().BindingMismatches
					r := ResolveWith(t, s, sbA, c.Token[:], store.ResolveOptions{Rotate: true, CheckBinding: true, OnMismatch: action, IP: []byte(a.ip), UserAgent: []byte(a.ua)})
					if a.want == 0 {
						if r.Status != store.OK || r.Mismatch != 0 || !r.Rotated {
							t.Fatalf("%s: %+v", name, r)
						}
						continue
					}
					if s.Stats().BindingMismatches != before+1 {
						t.Fatalf("%s: mismatch not counted", name)
					}
					switch action {
					case store.MismatchRevoke:
						if r.Status != store.Mismatched || !r.Revoked || r.Mismatch != a.want || r.SessionID != c.SessionID {
							t.Fatalf("%s: %+v", name, r)
						}
						if again := Resolve(t, s, sbA, c.Token[:], false, 2000); again.Status != store.NotFound {
							t.Fatalf("%s: the session survived the revoke action", name)
						}
					case store.MismatchReject:
						if r.Status != store.Mismatched || r.Revoked || r.Mismatch != a.want {
							t.Fatalf("%s: %+v", name, r)
						}
						ok := ResolveWith(t, s, sbA, c.Token[:], store.ResolveOptions{CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
						if ok.Status != store.OK || ok.Token != c.Token {
							t.Fatalf("%s: the bound client lost the session: %+v", name, ok)
						}
					case store.MismatchLog:
						if r.Status != store.OK || r.Mismatch != a.want || !r.Rotated {
							t.Fatalf("%s: %+v", name, r)
						}
					}
				}
			}
		}
		c := CreateWith(t, s, sbA, "d", store.CreateOptions{Bind: store.BindIPExact | store.BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		if r := Resolve(t, s, sbA, c.Token[:], false, 2000); r.Status != store.OK || r.Mismatch != 0 {
			t.Fatalf("unchecked resolve: %+v", r)
		}
		rot := ResolveWith(t, s, sbA, c.Token[:], store.ResolveOptions{Rotate: true, CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		if rot.Status != store.OK || !rot.Rotated {
			t.Fatal(rot)
		}
		if r := ResolveWith(t, s, sbA, c.Token[:], store.ResolveOptions{CheckBinding: true, OnMismatch: store.MismatchReject, IP: []byte("10.0.0.9"), UserAgent: []byte("a")}); r.Status != store.Mismatched {
			t.Fatalf("in-grace token with another address: %+v", r)
		}
		// Binding survives updates and rotations.
		b := CreateWith(t, s, sbA, "v1", store.CreateOptions{UserID: []byte("u"), Meta: []byte("m"), Bind: store.BindIPSubnet | store.BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
		check := store.ResolveOptions{Rotate: true, CheckBinding: true, OnMismatch: store.MismatchReject, IP: []byte("10.0.0.5"), UserAgent: []byte("a")}
		tok := b.Token
		for i := 0; i < 3; i++ {
			if _, ok, err := s.SessionUpdate(sbA, tok[:], []byte(fmt.Sprintf("v%d", i+2))); !ok || err != nil {
				t.Fatal("update", err)
			}
			r := ResolveWith(t, s, sbA, tok[:], check)
			if r.Status != store.OK || string(r.Data) != fmt.Sprintf("v%d", i+2) {
				t.Fatalf("round %d: %+v", i, r)
			}
			tok = r.Token
		}
		wrong := check
		wrong.UserAgent = []byte("b")
		if r := ResolveWith(t, s, sbA, tok[:], wrong); r.Status != store.Mismatched || r.Mismatch != store.MismatchAgent {
			t.Fatalf("binding lost by update: %+v", r)
		}
		if list, _ := s.SessionList(sbA, []byte("u")); len(list) != 1 || string(list[0].Meta) != "m" {
			t.Fatalf("list %+v", list)
		}
		if _, err := s.SessionCreateWith(sbA, nil, store.CreateOptions{TTLMs: 1, Bind: 8}); ErrCode(err) != xerr.BadRequest {
			t.Fatalf("bind mode 8: %v", err)
		}
	})
}

func CSRFTokenAndFlags(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		a := CreateWith(t, s, sbA, "d", store.CreateOptions{})
		b := CreateWith(t, s, sbA, "d", store.CreateOptions{})
		if a.CSRF == b.CSRF || a.CSRF == a.SessionID {
			t.Fatal("CSRF tokens must differ per session and from the public id")
		}
		tok := a.Token
		for i := 0; i < 3; i++ {
			r := ResolveWith(t, s, sbA, tok[:], store.ResolveOptions{Rotate: true, WantCSRF: true})
			if r.Status != store.OK || !r.HasCSRF || r.CSRF != a.CSRF {
				t.Fatalf("rotation %d changed the CSRF token", i)
			}
			tok = r.Token
		}
		if r := ResolveWith(t, s, sbA, tok[:], store.ResolveOptions{}); r.HasCSRF {
			t.Fatal("CSRF token computed without being asked for")
		}
		if r := ResolveWith(t, s, sbA, a.Token[:], store.ResolveOptions{WantCSRF: true, GraceMs: 60_000}); r.Status != store.OK || r.CSRF != a.CSRF {
			t.Fatalf("in-grace resolve: %+v", r)
		}
		g, err := s.SessionRegenerate(sbA, tok[:], 2000, true, nil)
		if err != nil || g.Status != store.OK || g.CSRF == a.CSRF {
			t.Fatalf("regenerate must change the CSRF token: %+v %v", g, err)
		}
		for _, c := range []struct {
			o    store.CreateOptions
			want uint8
		}{
			{store.CreateOptions{}, 0},
			{store.CreateOptions{Remember: true}, store.SessionFlagRemember},
			{store.CreateOptions{IdleMs: 1000}, store.SessionFlagIdle},
			{store.CreateOptions{Remember: true, IdleMs: 1000, UserID: []byte("u"), Bind: store.BindAgent}, store.SessionFlagRemember | store.SessionFlagIdle},
		} {
			res := CreateWith(t, s, sbA, "d", c.o)
			if r := ResolveWith(t, s, sbA, res.Token[:], store.ResolveOptions{Rotate: true}); r.Flags != c.want {
				t.Fatalf("%+v: flags %d, want %d", c.o, r.Flags, c.want)
			}
		}
	})
}

func IdleTimeoutNeverPastAbsolute(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		c := CreateWith(t, s, sbA, "d", store.CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
		if c.ExpiresAt != clock.NowMs()+3_000 {
			t.Fatalf("expiresAt %d", c.ExpiresAt-clock.NowMs())
		}
		tok := c.Token
		for i := 0; i < 4; i++ {
			clock.Advance(2_000)
			r := ResolveWith(t, s, sbA, tok[:], store.ResolveOptions{Rotate: true})
			if r.Status != store.OK {
				t.Fatalf("step %d: %v", i, r.Status)
			}
			if want := min(clock.NowMs()+3_000, c.ExpiresAt-3_000+10_000); r.ExpiresAt != want {
				t.Fatalf("step %d: expiresAt %d, want %d", i, r.ExpiresAt, want)
			}
			tok = r.Token
		}
		clock.Advance(2_001)
		if r := ResolveWith(t, s, sbA, tok[:], store.ResolveOptions{}); r.Status != store.NotFound {
			t.Fatal("sliding extended the session past its absolute expiry")
		}
		idle := CreateWith(t, s, sbA, "d", store.CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
		clock.Advance(3_000)
		if r := ResolveWith(t, s, sbA, idle.Token[:], store.ResolveOptions{}); r.Status != store.NotFound {
			t.Fatal("an idle session outlived its idle timeout")
		}
	})
}

func MaxSessionsPerUser(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		user := []byte("max")
		opts := store.CreateOptions{UserID: user, MaxPerUser: 2, OnLimit: store.LimitEvictOldest}
		a := CreateWith(t, s, sbA, "a", opts)
		clock.Advance(1)
		b := CreateWith(t, s, sbA, "b", opts)
		clock.Advance(1)
		c := CreateWith(t, s, sbA, "c", opts)
		if len(c.Evicted) != 1 || c.Evicted[0] != a.SessionID {
			t.Fatalf("evicted %v, want the oldest", c.Evicted)
		}
		if r := Resolve(t, s, sbA, a.Token[:], false, 2000); r.Status != store.NotFound {
			t.Fatal("the evicted session still resolves")
		}
		if st := s.Stats(); st.Evicted != 1 || st.Revoked != 0 {
			t.Fatalf("evicted %d revoked %d", st.Evicted, st.Revoked)
		}
		reject := opts
		reject.OnLimit = store.LimitReject
		reject.TTLMs = 60_000
		if _, err := s.SessionCreateWith(sbA, []byte("d"), reject); ErrCode(err) != xerr.LimitReached {
			t.Fatalf("reject: %v", err)
		}
		list, _ := s.SessionList(sbA, user)
		if len(list) != 2 || list[0].SessionID != b.SessionID || list[1].SessionID != c.SessionID {
			t.Fatalf("after reject: %+v", list)
		}
		one := store.CreateOptions{UserID: []byte("solo"), MaxPerUser: 1}
		first := CreateWith(t, s, sbA, "1", one)
		second := CreateWith(t, s, sbA, "2", one)
		if len(second.Evicted) != 1 || second.Evicted[0] != first.SessionID {
			t.Fatal("max 1 did not end the previous session")
		}
		CreateWith(t, s, sbA, "x", store.CreateOptions{UserID: []byte("other"), MaxPerUser: 1})
		CreateWith(t, s, sbB, "x", store.CreateOptions{UserID: []byte("solo"), MaxPerUser: 1})
		if r := Resolve(t, s, sbA, second.Token[:], false, 2000); r.Status != store.OK {
			t.Fatal("another user's or sandbox's login evicted this one")
		}
	})
}

// MaxSessionsConcurrentLogins: concurrent logins of one user (for Redis, through two
// instances) never leave more than the limit.
func MaxSessionsConcurrentLogins(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		instances := []Backend{s, e.Open()}
		for _, policy := range []store.LimitPolicy{store.LimitEvictOldest, store.LimitReject} {
			user := []byte(fmt.Sprintf("conc-%d", policy))
			var wg sync.WaitGroup
			var mu sync.Mutex
			created, evicted, refused := 0, 0, 0
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						res, err := instances[g%2].SessionCreateWith(sbA, []byte("d"), store.CreateOptions{TTLMs: 60_000, UserID: user, MaxPerUser: 3, OnLimit: policy})
						mu.Lock()
						if ErrCode(err) == xerr.LimitReached {
							refused++
						} else if err != nil {
							t.Error(err)
						} else {
							created++
							evicted += len(res.Evicted)
						}
						mu.Unlock()
					}
				}(g)
			}
			wg.Wait()
			list, _ := s.SessionList(sbA, user)
			if len(list) != 3 {
				t.Fatalf("%v: %d live sessions, want exactly 3", policy, len(list))
			}
			switch policy {
			case store.LimitEvictOldest:
				if created != 320 || evicted != 317 {
					t.Fatalf("created %d evicted %d", created, evicted)
				}
			case store.LimitReject:
				if created != 3 || refused != 317 {
					t.Fatalf("created %d refused %d", created, refused)
				}
			}
		}
		if e.CheckIndex != nil {
			e.CheckIndex(t, sbA)
		}
	})
}

func Regenerate(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		c := CreateWith(t, s, sbA, `{"role":"user"}`, store.CreateOptions{TTLMs: 100_000, IdleMs: 50_000, UserID: []byte("reg"), Meta: []byte("device"), Remember: true,
			Bind: store.BindAgent, UserAgent: []byte("ua")})
		clock.Advance(1_000)
		r1 := Resolve(t, s, sbA, c.Token[:], true, 2000)
		clock.Advance(500)
		g, err := s.SessionRegenerate(sbA, r1.Token[:], 2000, true, nil)
		if err != nil || g.Status != store.OK {
			t.Fatal(g, err)
		}
		if g.SessionID == c.SessionID || g.Token == r1.Token || g.OldID != c.SessionID || g.Flags != store.SessionFlagRemember|store.SessionFlagIdle {
			t.Fatalf("regenerate result %+v", g)
		}
		for name, tok := range map[string][]byte{"current": r1.Token[:], "in grace": c.Token[:]} {
			if r := Resolve(t, s, sbA, tok, false, 60_000); r.Status != store.NotFound {
				t.Fatalf("the old %s token still resolves: %v", name, r.Status)
			}
		}
		r := ResolveWith(t, s, sbA, g.Token[:], store.ResolveOptions{CheckBinding: true, OnMismatch: store.MismatchReject, UserAgent: []byte("ua")})
		if r.Status != store.OK || string(r.Data) != `{"role":"user"}` || r.SessionID != g.SessionID {
			t.Fatalf("new session %+v", r)
		}
		if bad := ResolveWith(t, s, sbA, g.Token[:], store.ResolveOptions{CheckBinding: true, OnMismatch: store.MismatchReject, UserAgent: []byte("other")}); bad.Status != store.Mismatched {
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
		if r.Status != store.OK || r.ExpiresAt != c.ExpiresAt-50_000+100_000 {
			t.Fatalf("expiry %d, want the original absolute expiry", r.ExpiresAt-(c.ExpiresAt-50_000))
		}
		h, err := s.SessionRegenerate(sbA, g.Token[:], 2000, false, []byte(`{"role":"admin"}`))
		if err != nil || h.Status != store.OK {
			t.Fatal(err)
		}
		if r := Resolve(t, s, sbA, h.Token[:], false, 2000); string(r.Data) != `{"role":"admin"}` {
			t.Fatalf("data %q", r.Data)
		}
		for name, tok := range map[string][]byte{"dead": g.Token[:], "garbage": []byte("x")} {
			if res, err := s.SessionRegenerate(sbA, tok, 2000, true, nil); err != nil || res.Status != store.NotFound {
				t.Fatalf("%s: %+v %v", name, res, err)
			}
		}
		// A session without a user regenerates too.
		anon := MustCreate(t, s, sbA, "anon", 60_000, 0, "")
		ra, err := s.SessionRegenerate(sbA, anon.Token[:], 2000, true, nil)
		if err != nil || ra.Status != store.OK {
			t.Fatal(ra, err)
		}
		if r := Resolve(t, s, sbA, ra.Token[:], false, 2000); r.Status != store.OK || string(r.Data) != "anon" {
			t.Fatalf("anonymous regenerate: %+v", r)
		}
		if e.CheckIndex != nil {
			e.CheckIndex(t, sbA)
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

// ScanAll pages through a KV_SCAN of sb with limit, calling between (if set) between pages, and
// returns every name it was given.
func ScanAll(t testing.TB, s Backend, sb []byte, prefix string, limit uint32, between func()) []string {
	t.Helper()
	var names []string
	cursor := []byte{}
	for pages := 0; ; pages++ {
		got, next, err := s.KVScan(sb, []byte(prefix), cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > int(limit) {
			t.Fatalf("page of %d over limit %d", len(got), limit)
		}
		for _, n := range got {
			names = append(names, string(n))
		}
		if next == "" {
			return names
		}
		if pages > 100_000 {
			t.Fatal("scan does not end")
		}
		if between != nil {
			between()
		}
		cursor = []byte(next)
	}
}

// All is every scenario, by name.
var All = []struct {
	Name string
	Run  func(t *testing.T, each Each)
}{
	{"Errors", Errors},
	{"KVOperations", KVOperations},
	{"FiveDayCap", FiveDayCap},
	{"KVScan", KVScan},
	{"SessionCreateAndResolve", SessionCreateAndResolve},
	{"ResolveMalformedTokensAreNotFound", ResolveMalformedTokensAreNotFound},
	{"ConcurrentRotation", ConcurrentRotation},
	{"GraceWindowEdges", GraceWindowEdges},
	{"Grandparent", Grandparent},
	{"GraceListCap", GraceListCap},
	{"ForgedGraceTokenIsNotFound", ForgedGraceTokenIsNotFound},
	{"MinRotateInterval", MinRotateInterval},
	{"Revoke", Revoke},
	{"Update", Update},
	{"ListRevokeAllRevokeID", ListRevokeAllRevokeID},
	{"TokensDoNotCrossSandboxes", TokensDoNotCrossSandboxes},
	{"BindingModesAndActions", BindingModesAndActions},
	{"CSRFTokenAndFlags", CSRFTokenAndFlags},
	{"IdleTimeoutNeverPastAbsolute", IdleTimeoutNeverPastAbsolute},
	{"MaxSessionsPerUser", MaxSessionsPerUser},
	{"MaxSessionsConcurrentLogins", MaxSessionsConcurrentLogins},
	{"Regenerate", Regenerate},
}

// RunAll runs every scenario as a subtest of t.
func RunAll(t *testing.T, each Each) {
	for _, sc := range All {
		t.Run(sc.Name, func(t *testing.T) { sc.Run(t, each) })
	}
}
