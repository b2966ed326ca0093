package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

func KVOperations(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		k := []byte("user:1")
		if _, _, found, err := s.KVGet([]byte("nosuch"), k, nil); found || err != nil {
			t.Fatal("found in a sandbox never written")
		}
		exp, err := s.KVSet(noDL, sbA, k, []byte("v1"), 5000)
		if err != nil || exp != clock.NowMs()+5000 {
			t.Fatalf("set: %d %v", exp, err)
		}
		// A store on the real clock (Redis) reads the expiry back from its TTL a little later:
		// allow a loaded machine 250 ms between the set and the get.
		v, gexp, found, err := s.KVGet(sbA, k, []byte("prefix:"))
		if err != nil || !found || string(v) != "prefix:v1" || gexp < exp-250 || gexp > exp {
			t.Fatalf("get: %q %d (set said %d) %v %v", v, gexp, exp, found, err)
		}
		if _, err := s.KVSet(noDL, sbA, []byte("empty"), nil, 5000); err != nil {
			t.Fatal(err)
		}
		if v, _, found, _ := s.KVGet(sbA, []byte("empty"), nil); !found || len(v) != 0 {
			t.Fatal("empty value not found as empty")
		}
		s.KVSet(noDL, sbA, k, []byte("v2"), 5000)
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
		exp, found, err = s.KVTouch(noDL, sbA, k, 10_000)
		if err != nil || !found || exp != clock.NowMs()+10_000 {
			t.Fatalf("touch = %d %v %v", exp, found, err)
		}
		if rem, _, _ := s.KVTTL(sbA, k); rem <= 9000 {
			t.Fatalf("ttl after touch %d", rem)
		}
		if _, found, _ := s.KVTouch(noDL, sbA, []byte("missing"), 10); found {
			t.Fatal("touch of missing key found")
		}
		if ok, _ := s.KVDel(noDL, sbA, k); !ok {
			t.Fatal("del of existing = false")
		}
		if ok, _ := s.KVDel(noDL, sbA, k); ok {
			t.Fatal("second del = true")
		}
		if _, _, found, _ := s.KVGet(sbA, k, nil); found {
			t.Fatal("found after del")
		}
		s.KVSet(noDL, sbA, k, []byte("in A"), 5000)
		if _, _, found, _ := s.KVGet(sbB, k, nil); found {
			t.Fatal("key visible in another sandbox")
		}
		s.KVSet(noDL, sbB, k, []byte("in B"), 5000)
		a, _, _, _ := s.KVGet(sbA, k, nil)
		b, _, _, _ := s.KVGet(sbB, k, nil)
		if string(a) != "in A" || string(b) != "in B" {
			t.Fatal("sandboxes share a key")
		}
		// Clear: the KV records and sessions of one sandbox (and its user indexes), counted.
		s.KVSet(noDL, sbA, []byte("another"), []byte("x"), 5000)
		MustCreate(t, s, sbA, "d", 5000, 0, "user")
		n, err := s.Clear(noDL, sbA)
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
		if n, _ := s.Clear(noDL, []byte("never-written")); n != 0 {
			t.Fatal("clear of an unknown sandbox removed something")
		}
	})
}

func FiveDayCap(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		created := clock.NowMs()
		s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 60_000)
		clock.Advance(10_000)
		exp, found, err := s.KVTouch(noDL, sbA, []byte("k"), session.MaxTTLMs)
		if err != nil || !found || exp != created+session.MaxTTLMs {
			t.Fatalf("touch past the cap: %d (want %d) %v %v", exp-created, session.MaxTTLMs, found, err)
		}
		res := MustCreate(t, s, sbA, "d", session.MaxTTLMs, session.MaxTTLMs, "")
		r := Resolve(t, s, sbA, res.Token[:], true, 2000)
		if r.ExpiresAt != created+10_000+session.MaxTTLMs {
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
			s.KVSet(noDL, sbA, []byte(name), []byte("v"), 60_000)
			s.KVSet(noDL, sbA, []byte(fmt.Sprintf("job:%04d", i)), []byte("v"), 60_000)
		}
		s.KVSet(noDL, sbB, []byte("user:other-sandbox"), []byte("v"), 60_000)
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
				s.KVDel(noDL, sbA, []byte(fmt.Sprintf("job:%04d", i)))
				s.KVSet(noDL, sbA, []byte(fmt.Sprintf("user:new-%d", i)), []byte("v"), 60_000)
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
			s.KVSet(noDL, sbB, bin, []byte("value"), 60_000)
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
