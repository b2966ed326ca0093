package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func TestValidSandboxName(t *testing.T) {
	for _, name := range []string{"a", "A.b_c:d-9", strings.Repeat("x", 64)} {
		if !ValidSandboxName([]byte(name)) {
			t.Errorf("%q rejected", name)
		}
	}
	for _, name := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "é", "a\x00", "a*"} {
		if ValidSandboxName([]byte(name)) {
			t.Errorf("%q accepted", name)
		}
	}
}

// TestErrors checks every typed error of every operation.
func TestErrors(t *testing.T) {
	s, _ := newTestStore(t)
	big := make([]byte, DefaultMaxValueSize+1)
	longKey := make([]byte, MaxKeySize+1)
	bad := []byte("bad name")
	created := mustCreate(t, s, sbA, "d", 1000, 0, "u")
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
		{"KV_SET ttl over 5 days", func() error { _, err := s.KVSet(sbA, []byte("k"), nil, MaxTTLMs+1); return err }, xerr.InvalidTTL},
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
		{"KV_TOUCH ttl over 5 days", func() error { _, _, err := s.KVTouch(sbA, []byte("k"), MaxTTLMs+1); return err }, xerr.InvalidTTL},
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
		{"S_CREATE ttl over 5 days", func() error { _, err := s.SessionCreate(sbA, nil, MaxTTLMs+1, 0, nil, nil); return err }, xerr.InvalidTTL},
		{"S_CREATE idle over 5 days", func() error { _, err := s.SessionCreate(sbA, nil, 1, MaxTTLMs+1, nil, nil); return err }, xerr.InvalidTTL},
		{"S_RESOLVE bad sandbox", func() error { _, err := s.SessionResolve(bad, tok, false, 0, 0, nil); return err }, xerr.InvalidSandbox},
		{"S_RESOLVE grace over max", func() error { _, err := s.SessionResolve(sbA, tok, false, MaxGraceMs+1, 0, nil); return err }, xerr.BadRequest},
		{"S_UPDATE bad sandbox", func() error { _, _, err := s.SessionUpdate(bad, tok, nil); return err }, xerr.InvalidSandbox},
		{"S_UPDATE data too large", func() error { _, _, err := s.SessionUpdate(sbA, tok, big); return err }, xerr.ValueTooLarge},
		{"S_REVOKE bad sandbox", func() error { _, err := s.SessionRevoke(bad, tok); return err }, xerr.InvalidSandbox},
		{"S_LIST bad sandbox", func() error { _, err := s.SessionList(bad, []byte("u")); return err }, xerr.InvalidSandbox},
		{"S_REVOKE_ALL bad sandbox", func() error { _, err := s.SessionRevokeAll(bad, []byte("u"), nil); return err }, xerr.InvalidSandbox},
		{"S_REVOKE_ID bad sandbox", func() error { _, err := s.SessionRevokeID(bad, []byte("x")); return err }, xerr.InvalidSandbox},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errCode(c.call()); got != c.want {
				t.Fatalf("error code %v, want %v", got, c.want)
			}
		})
	}
}

func TestMaxValueSizeConfigurable(t *testing.T) {
	s, _ := newTestStore(t)
	s.maxValue = 10
	if _, err := s.KVSet(sbA, []byte("k"), make([]byte, 10), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVSet(sbA, []byte("k"), make([]byte, 11), 1000); errCode(err) != xerr.ValueTooLarge {
		t.Fatal("11 bytes accepted with maxValueSize 10")
	}
}

// TestKVOperations runs each KV operation through its outcomes.
func TestKVOperations(t *testing.T) {
	s, clock := newTestStore(t)
	k := []byte("user:1")
	t.Run("get of a never-written sandbox", func(t *testing.T) {
		if _, _, found, err := s.KVGet([]byte("nosuch"), k, nil); found || err != nil {
			t.Fatal("found in a sandbox never written")
		}
		if st := s.Stats(); len(st.Sandboxes) != 0 {
			t.Fatal("a read created a sandbox")
		}
	})
	t.Run("set then get", func(t *testing.T) {
		exp, err := s.KVSet(sbA, k, []byte("v1"), 5000)
		if err != nil || exp != clock.NowMs()+5000 {
			t.Fatalf("set: %d %v", exp, err)
		}
		v, gexp, found, err := s.KVGet(sbA, k, []byte("prefix:"))
		if err != nil || !found || string(v) != "prefix:v1" || gexp != exp {
			t.Fatalf("get: %q %d %v %v", v, gexp, found, err)
		}
	})
	t.Run("empty value", func(t *testing.T) {
		if _, err := s.KVSet(sbA, []byte("empty"), nil, 5000); err != nil {
			t.Fatal(err)
		}
		v, _, found, _ := s.KVGet(sbA, []byte("empty"), nil)
		if !found || len(v) != 0 {
			t.Fatal("empty value not found as empty")
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		s.KVSet(sbA, k, []byte("v2"), 5000)
		v, _, _, _ := s.KVGet(sbA, k, nil)
		if string(v) != "v2" {
			t.Fatalf("got %q", v)
		}
	})
	t.Run("has and ttl", func(t *testing.T) {
		if ok, _ := s.KVHas(sbA, k); !ok {
			t.Fatal("has = false")
		}
		if ok, _ := s.KVHas(sbA, []byte("missing")); ok {
			t.Fatal("has(missing) = true")
		}
		clock.Advance(1000)
		if rem, found, _ := s.KVTTL(sbA, k); !found || rem != 4000 {
			t.Fatalf("ttl = %d %v", rem, found)
		}
		if _, found, _ := s.KVTTL(sbA, []byte("missing")); found {
			t.Fatal("ttl of missing key found")
		}
	})
	t.Run("touch", func(t *testing.T) {
		exp, found, err := s.KVTouch(sbA, k, 10_000)
		if err != nil || !found || exp != clock.NowMs()+10_000 {
			t.Fatalf("touch = %d %v %v", exp, found, err)
		}
		if _, found, _ := s.KVTouch(sbA, []byte("missing"), 10); found {
			t.Fatal("touch of missing key found")
		}
		// A shorter touch shortens too.
		exp, _, _ = s.KVTouch(sbA, k, 10)
		clock.Advance(10)
		if _, _, found, _ := s.KVGet(sbA, k, nil); found {
			t.Fatalf("found after a shortened ttl expired (exp %d now %d)", exp, clock.NowMs())
		}
	})
	t.Run("del", func(t *testing.T) {
		s.KVSet(sbA, k, []byte("v"), 5000)
		if ok, _ := s.KVDel(sbA, k); !ok {
			t.Fatal("del of existing = false")
		}
		if ok, _ := s.KVDel(sbA, k); ok {
			t.Fatal("second del = true")
		}
		if _, _, found, _ := s.KVGet(sbA, k, nil); found {
			t.Fatal("found after del")
		}
	})
	t.Run("sandboxes are separate", func(t *testing.T) {
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
	})
	t.Run("clear", func(t *testing.T) {
		s.KVSet(sbA, []byte("another"), []byte("x"), 5000)
		mustCreate(t, s, sbA, "d", 5000, 0, "user")
		n, err := s.Clear(sbA)
		if err != nil || n != 4 { // user:1, empty, another, one session
			t.Fatalf("clear removed %d, %v", n, err)
		}
		if _, _, found, _ := s.KVGet(sbA, []byte("another"), nil); found {
			t.Fatal("found after clear")
		}
		if v, _, found, _ := s.KVGet(sbB, k, nil); !found || string(v) != "in B" {
			t.Fatal("clear touched another sandbox")
		}
		if indexSize(s, sbA) != 0 {
			t.Fatal("user index not cleared")
		}
		if n, _ := s.Clear([]byte("never-written")); n != 0 {
			t.Fatal("clear of an unknown sandbox removed something")
		}
		if st := s.Stats().Sandboxes["sessions"]; st.KV != 0 || st.Sessions != 0 || st.Bytes != 0 {
			t.Fatalf("stats after clear: %+v", st)
		}
	})
}

func TestKVStatsBytes(t *testing.T) {
	s, _ := newTestStore(t)
	s.KVSet(sbA, []byte("k"), make([]byte, 100), 1000)
	st := s.Stats().Sandboxes[string(sbA)]
	if st.KV != 1 || st.Bytes != int64(100+1+2+28) {
		t.Fatalf("stats %+v", st)
	}
	s.KVSet(sbA, []byte("k"), make([]byte, 10), 1000)
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != int64(10+1+2+28) {
		t.Fatalf("bytes after overwrite %+v", st)
	}
	s.KVDel(sbA, []byte("k"))
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != 0 || st.KV != 0 {
		t.Fatalf("after del %+v", st)
	}
}

func scanAll(t *testing.T, s *Store, prefix string, limit uint32, between func()) []string {
	t.Helper()
	var names []string
	cursor := []byte{}
	for pages := 0; ; pages++ {
		got, next, err := s.KVScan(sbA, []byte(prefix), cursor, limit)
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
		if pages > 10000 {
			t.Fatal("scan does not end")
		}
		if between != nil {
			between()
		}
		cursor = []byte(next)
	}
}

func TestKVScan(t *testing.T) {
	s, clock := newTestStore(t)
	var want []string
	for i := 0; i < 2500; i++ {
		name := fmt.Sprintf("user:%04d", i)
		want = append(want, name)
		s.KVSet(sbA, []byte(name), []byte("v"), 10_000)
		s.KVSet(sbA, []byte(fmt.Sprintf("job:%04d", i)), []byte("v"), 10_000)
	}
	s.KVSet(sbA, []byte("user:short-lived"), []byte("v"), 5)

	t.Run("every key exactly once when nothing changes", func(t *testing.T) {
		clock.Advance(5) // user:short-lived has expired: never listed
		got := scanAll(t, s, "user:", 97, nil)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("scan returned %d names, want %d", len(got), len(want))
		}
	})
	t.Run("keys present throughout are returned while others come and go", func(t *testing.T) {
		i := 0
		got := scanAll(t, s, "user:", 100, func() {
			// Between pages: delete and add job keys, add new user keys.
			s.KVDel(sbA, []byte(fmt.Sprintf("job:%04d", i)))
			s.KVSet(sbA, []byte(fmt.Sprintf("user:new-%d", i)), []byte("v"), 10_000)
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
	t.Run("empty prefix lists everything, limit 1 works", func(t *testing.T) {
		s2, _ := newTestStore(t)
		for i := 0; i < 20; i++ {
			s2.KVSet(sbA, []byte{byte('a' + i)}, nil, 1000)
		}
		got := scanAll(t, s2, "", 1, nil)
		if len(got) != 20 {
			t.Fatalf("got %d", len(got))
		}
	})
	t.Run("unknown sandbox is an empty scan", func(t *testing.T) {
		got, next, err := s.KVScan([]byte("nosuch"), nil, nil, 10)
		if err != nil || len(got) != 0 || next != "" {
			t.Fatal("unknown sandbox scan not empty")
		}
	})
	t.Run("names are returned exactly", func(t *testing.T) {
		s2, _ := newTestStore(t)
		bin := []byte{0, 1, 2, 0xff, 'x'}
		s2.KVSet(sbA, bin, []byte("value"), 1000)
		got, _, _ := s2.KVScan(sbA, []byte{0}, nil, 10)
		if len(got) != 1 || !bytes.Equal(got[0], bin) {
			t.Fatalf("got %q", got)
		}
	})
}
