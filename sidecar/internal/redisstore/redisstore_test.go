package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redistest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Behaviour only the Redis backend has: the key check, the key layout, the spread over a
// cluster, sealing of every field, Redis's own expiry, and outages.

func newRedisStore(t testing.TB, conn ConnConfig, secret, identity []byte, prefix string, clock session.Clock) *Store {
	t.Helper()
	keys, err := DeriveKeys(secret, identity)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Conn: conn, Keys: keys, KeyPrefix: prefix, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func randomSecret() []byte {
	b := make([]byte, SecretSize)
	rand.Read(b)
	return b
}

func TestDeriveKeys(t *testing.T) {
	a, b := randomSecret(), randomSecret()
	ka, _ := DeriveKeys(a, []byte("prod"))
	same, _ := DeriveKeys(a, []byte("prod"))
	otherID, _ := DeriveKeys(a, []byte("staging"))
	unbound, _ := DeriveKeys(a, nil)
	otherSecret, _ := DeriveKeys(b, []byte("prod"))
	if !bytes.Equal(ka.Master, same.Master) || ka.KeyCheck != same.KeyCheck {
		t.Fatal("the same inputs must give the same keys on every instance")
	}
	for name, k := range map[string]*Keys{"other id": otherID, "unbound": unbound, "other secret": otherSecret} {
		if bytes.Equal(k.Master, ka.Master) || k.KeyCheck == ka.KeyCheck {
			t.Fatalf("%s: same master or key check", name)
		}
	}
	if otherID.SecretCheck != ka.SecretCheck || otherSecret.SecretCheck == ka.SecretCheck {
		t.Fatal("the secret check must depend on the secret only")
	}
	for _, c := range []struct {
		secret, id []byte
	}{{a[:31], nil}, {append(a, 0), nil}, {a, []byte{}}, {a, make([]byte, MaxIdentity+1)}} {
		if _, err := DeriveKeys(c.secret, c.id); err == nil {
			t.Fatalf("accepted a %d-byte secret with a %d-byte id", len(c.secret), len(c.id))
		}
	}
}

func TestKeyCheck(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := fmt.Sprintf("kc%d:", prefixSeq.Add(1))
	secret := randomSecret()
	first := newRedisStore(t, conn, secret, []byte("prod"), prefix, nil)
	if err := first.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := newRedisStore(t, conn, secret, []byte("prod"), prefix, nil).Check(context.Background()); err != nil {
		t.Fatalf("a second instance with the same secret and id: %v", err)
	}
	for _, c := range []struct {
		name     string
		secret   []byte
		identity []byte
		want     xerr.Code
	}{
		{"another secret", randomSecret(), []byte("prod"), xerr.StoreWrongSecret},
		{"another identity", secret, []byte("staging"), xerr.StoreWrongIdentity},
		{"no identity", secret, nil, xerr.StoreWrongIdentity},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newRedisStore(t, conn, c.secret, c.identity, prefix, nil)
			if err := s.Check(context.Background()); errCode(err) != c.want {
				t.Fatalf("Check: %v, want %v", err, c.want)
			}
			// And every request is refused the same way: it would not read the others' records.
			if _, err := s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 1000); errCode(err) != c.want {
				t.Fatalf("KV_SET: %v", err)
			}
		})
	}
	// Another prefix is another deployment.
	if err := newRedisStore(t, conn, randomSecret(), nil, prefix+"x:", nil).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestKeyPrefixValidation(t *testing.T) {
	keys, _ := DeriveKeys(randomSecret(), nil)
	for _, p := range []string{"{tag}", "a*", "a b", strings.Repeat("x", 65)} {
		if _, err := New(Options{Conn: ConnConfig{URL: "redis://127.0.0.1:1"}, Keys: keys, KeyPrefix: p}); err == nil {
			t.Fatalf("prefix %q accepted", p)
		}
	}
	for _, c := range []ConnConfig{{}, {URL: "http://x:1"}, {URL: "redis://"}, {URL: "redis://a:1", Cluster: []string{"redis://b:1"}},
		{Cluster: []string{"redis://a:1/3"}}, {Cluster: []string{"redis://u:p@a:1", "redis://a:2"}}} {
		_, err := New(Options{Conn: c, Keys: keys})
		if err == nil {
			t.Fatalf("%+v accepted", c)
		}
		if strings.Contains(err.Error(), "u:p") {
			t.Fatalf("an error echoes the URL: %v", err)
		}
	}
}

// TestKeyLayout: what the keys in Redis look like, and that a user's sessions share a slot.
func TestKeyLayout(t *testing.T) {
	urls := clusterURLs(t)
	prefix := fmt.Sprintf("kl%d:", prefixSeq.Add(1))
	s := newRedisStore(t, ConnConfig{Cluster: urls}, randomSecret(), nil, prefix, nil)
	for i := 0; i < 5; i++ {
		createWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("layout-user")})
	}
	mustCreate(t, s, sbA, "d", 60_000, 0, "")
	s.KVSet(noDL, sbA, []byte("a key name"), []byte("v"), 60_000)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrsOf(urls)})
	defer c.Close()
	var keys []string
	var mu sync.Mutex
	c.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		ks, err := n.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	q := regexp.QuoteMeta(prefix)
	patterns := map[string]*regexp.Regexp{
		"keycheck": regexp.MustCompile(`^` + q + `keycheck$`),
		"kv":       regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:k:[A-Za-z0-9_-]{22}$`),
		"session":  regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:\{[0-9a-f]{2}\}:s:[A-Za-z0-9_-]{22}$`),
		"index":    regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:\{[0-9a-f]{2}\}:u:[A-Za-z0-9_-]{22}$`),
	}
	count := map[string]int{}
	slots := map[int64]bool{}
	for _, k := range keys {
		matched := ""
		for name, re := range patterns {
			if re.MatchString(k) {
				matched = name
			}
		}
		if matched == "" {
			t.Fatalf("unexpected key %q", k)
		}
		count[matched]++
		if strings.Contains(k, string(sbA)) {
			t.Fatalf("the sandbox name appears in %q", k)
		}
	}
	if count["keycheck"] != 1 || count["kv"] != 1 || count["session"] != 6 || count["index"] != 1 {
		t.Fatalf("keys %v", count)
	}
	// The user's five sessions and index: one slot.
	for _, k := range keys {
		if (patterns["session"].MatchString(k) || patterns["index"].MatchString(k)) && !strings.Contains(k, "}:s:") {
			slots[c.ClusterKeySlot(context.Background(), k).Val()] = true
		}
	}
	list, _ := s.SessionList(sbA, []byte("layout-user"))
	sb, _ := s.sandboxFor(sbA)
	for _, it := range list {
		slots[c.ClusterKeySlot(context.Background(), s.sessKey(sb, &it.SessionID)).Val()] = true
	}
	if len(list) != 5 || len(slots) != 1 {
		t.Fatalf("a user's %d sessions and index span %d slots", len(list), len(slots))
	}
}

func addrsOf(urls []string) []string {
	var out []string
	for _, u := range urls {
		o, _ := redis.ParseURL(u)
		out = append(out, o.Addr)
	}
	return out
}

// TestSessionsSpreadOverMasters: sessions of many users land on every master of the cluster.
func TestSessionsSpreadOverMasters(t *testing.T) {
	urls := clusterURLs(t)
	prefix := fmt.Sprintf("sp%d:", prefixSeq.Add(1))
	s := newRedisStore(t, ConnConfig{Cluster: urls}, randomSecret(), nil, prefix, nil)
	for i := 0; i < 60; i++ {
		user := ""
		if i%2 == 0 {
			user = fmt.Sprintf("user-%d", i)
		}
		mustCreate(t, s, sbA, "d", 60_000, 0, user)
	}
	byNode := sessionKeysByNode(t, urls, prefix)
	if len(byNode) != 3 {
		t.Fatalf("sessions on %d masters, want all 3: %v", len(byNode), byNode)
	}
	total := 0
	for _, n := range byNode {
		total += n
	}
	if total != 60 {
		t.Fatalf("%d session keys, want 60", total)
	}
}

// TestEveryFieldIsSealed flips bytes and moves fields in Redis: nothing opens, nothing is served.
func TestEveryFieldIsSealed(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := fmt.Sprintf("ts%d:", prefixSeq.Add(1))
	s := newRedisStore(t, conn, randomSecret(), nil, prefix, nil)
	rdb := redis.NewClient(&redis.Options{Addr: addrsOf([]string{conn.URL})[0]})
	defer rdb.Close()
	ctx := context.Background()
	sb, _ := s.sandboxFor(sbA)
	a := createWith(t, s, sbA, "data a", session.CreateOptions{UserID: []byte("u"), Meta: []byte("meta a")})
	b := createWith(t, s, sbA, "data b", session.CreateOptions{UserID: []byte("u"), Meta: []byte("meta b")})
	ka, kb := s.sessKey(sb, &a.SessionID), s.sessKey(sb, &b.SessionID)
	// What reads each field: resolve reads h, l and d; list reads h, l and m.
	readBy := map[string][2]bool{"h": {true, true}, "l": {true, true}, "d": {true, false}, "m": {false, true}}
	check := func(field, what string) {
		t.Helper()
		r, rerr := storetest.SessionResolve(s, sbA, a.Token[:], false, 2000, 0, nil)
		list, lerr := s.SessionList(sbA, []byte("u"))
		if readBy[field][0] && (r.Status == session.OK || errCode(rerr) != xerr.Internal) {
			t.Fatalf("%s %s: resolve %v %v", field, what, r.Status, rerr)
		}
		if readBy[field][1] && (lerr == nil || len(list) != 0) {
			t.Fatalf("%s %s: list %d %v", field, what, len(list), lerr)
		}
	}
	for _, field := range []string{"h", "d", "l", "m"} {
		orig, err := rdb.HGet(ctx, ka, field).Result()
		if err != nil {
			t.Fatal(field, err)
		}
		for _, i := range []int{0, 5, len(orig) / 2, len(orig) - 1} {
			flipped := []byte(orig)
			flipped[i] ^= 0x01
			rdb.HSet(ctx, ka, field, flipped)
			check(field, fmt.Sprintf("byte %d flipped", i))
		}
		// Moved from another session: fails too (the additional data names the record).
		other, _ := rdb.HGet(ctx, kb, field).Result()
		rdb.HSet(ctx, ka, field, other)
		check(field, "moved from another session")
		rdb.HSet(ctx, ka, field, orig)
	}
	if r := resolve(t, s, sbA, a.Token[:], false, 2000); r.Status != session.OK || string(r.Data) != "data a" {
		t.Fatalf("restored session: %+v", r)
	}
	// A KV value moved to another key does not open.
	s.KVSet(noDL, sbA, []byte("one"), []byte("value one"), 60_000)
	s.KVSet(noDL, sbA, []byte("two"), []byte("value two"), 60_000)
	k1, k2 := sb.keys.KVKey([]byte("one")), sb.keys.KVKey([]byte("two"))
	v2, _ := rdb.HGet(ctx, s.kvKey(sb, &k2), "v").Result()
	rdb.HSet(ctx, s.kvKey(sb, &k1), "v", v2)
	if _, _, found, _ := s.KVGet(sbA, []byte("one"), nil); found {
		t.Fatal("a value moved to another key opened")
	}
	// A session's data moved into a KV record does not open either (another kind).
	d, _ := rdb.HGet(ctx, ka, "d").Result()
	rdb.HSet(ctx, s.kvKey(sb, &k2), "v", d)
	if _, _, found, _ := s.KVGet(sbA, []byte("two"), nil); found {
		t.Fatal("session data opened as a KV value")
	}
}

// TestNothingSecretReachesRedis plants a marker in every input and looks for it, and for every
// token, sid and secret issued, in every key and value of the servers (TestMain repeats the
// search over everything all the tests left in Redis).
func TestNothingSecretReachesRedis(t *testing.T) {
	eachRedis(t, func(t *testing.T, e *env, clock *fakeClock) {
		s := e.open()
		var tokens [][]byte
		for i := 0; i < 20; i++ {
			s.KVSet(noDL, sbA, withMarker("key"), withMarker("value"), 60_000)
			s.KVSet(noDL, sbA, append(withMarker("key-"), byte(i)), withMarker("value"), 60_000)
			res, err := storetest.SessionCreate(s, sbA, withMarker("data"), 60_000, 10_000, withMarker("user"), withMarker("meta"))
			if err != nil {
				t.Fatal(err)
			}
			r := resolve(t, s, sbA, res.Token[:], true, 2000)
			storetest.SessionUpdate(s, sbA, r.Token[:], withMarker("updated"))
			s.SessionList(sbA, withMarker("user"))
			bound, err := s.SessionCreate(noDL, sbA, withMarker("data"), session.CreateOptions{TTLMs: 60_000, UserID: withMarker("user"),
				Bind: session.BindIPExact | session.BindAgent, IP: withMarker("ip"), UserAgent: withMarker("agent"), MaxPerUser: 100})
			if err != nil {
				t.Fatal(err)
			}
			s.SessionResolve(noDL, sbA, bound.Token[:], session.ResolveOptions{WantCSRF: true, CheckBinding: true, OnMismatch: session.MismatchLog, IP: withMarker("ip2"), UserAgent: withMarker("agent2")}, nil)
			g, _ := s.SessionRegenerate(noDL, sbA, bound.Token[:], 2000, true, nil)
			for _, tok := range [][]byte{res.Token[:], r.Token[:], bound.Token[:], g.Token[:], bound.CSRF[:], g.CSRF[:]} {
				tokens = append(tokens, bytes.Clone(tok))
			}
		}
		s.KVScan(sbA, withMarker(""), nil, 1000)
		secrets.add(tokens...)
		secrets.add(withMarker("user"), withMarker("key"), withMarker("ip"), withMarker("agent"), sbA)
		var needles [][]byte
		needles = append(needles, tokens...)
		for _, tok := range tokens {
			if p, ok := crypto.ParseToken(tok); ok {
				needles = append(needles, bytes.Clone(p.SID[:]), bytes.Clone(p.Secret[:]))
			}
		}
		needles = append(needles, sbA, []byte("c0ffee42"))
		if err := scanEverything(addrsOf(e.urls), needles); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRedisExpiresKeysItself: with real time, the keys of expired records leave Redis by its
// own TTLs (PEXPIREAT), including the user index after its last session's absolute expiry.
func TestRedisExpiresKeysItself(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := fmt.Sprintf("ex%d:", prefixSeq.Add(1))
	s := newRedisStore(t, conn, randomSecret(), nil, prefix, nil)
	rdb := redis.NewClient(&redis.Options{Addr: addrsOf([]string{conn.URL})[0]})
	defer rdb.Close()
	ctx := context.Background()
	idle := createWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 60_000, IdleMs: 300, UserID: []byte("exp")})
	short := createWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 400, UserID: []byte("exp")})
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 300)
	count := func() int64 { return int64(len(rdb.Keys(ctx, prefix+"*").Val())) }
	if n := count(); n != 5 { // keycheck, two sessions, the index, the KV record
		t.Fatalf("%d keys", n)
	}
	// Using the idle session slides its Redis expiry.
	time.Sleep(200 * time.Millisecond)
	if r := resolve(t, s, sbA, idle.Token[:], false, 2000); r.Status != session.OK {
		t.Fatal("idle session gone too early")
	}
	sb, _ := s.sandboxFor(sbA)
	if pttl := rdb.PTTL(ctx, s.sessKey(sb, &idle.SessionID)).Val(); pttl < 250*time.Millisecond {
		t.Fatalf("idle session's PTTL after use: %v", pttl)
	}
	time.Sleep(600 * time.Millisecond)
	// The idle session, the short one and the KV record are gone from Redis; the index lives
	// until the idle session's absolute expiry (60 s).
	if n := count(); n != 2 {
		t.Fatalf("%d keys left, want 2 (keycheck, index)", n)
	}
	if l, _ := s.SessionList(sbA, []byte("exp")); len(l) != 0 {
		t.Fatal("expired sessions listed")
	}
	_ = short
}

// TestOutageAndRecovery: the server is killed, then started again. Requests fail fast with
// UNAVAILABLE (the first ones within the timeout, then at once through the open breaker),
// never hang and never succeed; the store recovers by itself once the server is back. With
// appendfsync always, nothing the store acknowledged is lost.
func TestOutageAndRecovery(t *testing.T) {
	srv, err := redistest.Start("--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s := newRedisStore(t, ConnConfig{URL: srv.URL(), Timeout: 300 * time.Millisecond}, randomSecret(), nil, "out:", nil)
	res := mustCreate(t, s, sbA, "survives", 60_000, 0, "u")
	tok := resolve(t, s, sbA, res.Token[:], true, 2000).Token

	srv.Kill()
	var worst time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		r, err := storetest.SessionResolve(s, sbA, tok[:], true, 2000, 0, nil)
		if d := time.Since(start); d > worst {
			worst = d
		}
		if errCode(err) != xerr.Unavailable || r.Status == session.OK {
			t.Fatalf("request %d during the outage: %v %v", i, r.Status, err)
		}
	}
	if worst > time.Second {
		t.Fatalf("a request took %v during the outage", worst)
	}
	if !strings.Contains(fmt.Sprint(s.wrap(unavailable("x"))), "x") || s.Available() {
		t.Fatal("the breaker is not open after repeated failures")
	}
	start := time.Now()
	if _, err := s.KVHas(sbA, []byte("k")); errCode(err) != xerr.Unavailable || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("open breaker: %v after %v", err, time.Since(start))
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var r session.ResolveResult
	for {
		r, err = storetest.SessionResolve(s, sbA, tok[:], false, 2000, 0, nil)
		if err == nil {
			break
		}
		if errCode(err) != xerr.Unavailable || time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Status != session.OK || string(r.Data) != "survives" || r.Token != tok {
		t.Fatalf("after the restart: %+v", r)
	}
}

// TestHungServer: a server that stops answering (SIGSTOP) costs each request at most the
// timeout, then nothing once the breaker is open; it recovers after SIGCONT.
func TestHungServer(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s := newRedisStore(t, ConnConfig{URL: srv.URL(), Timeout: 200 * time.Millisecond}, randomSecret(), nil, "hang:", nil)
	res := mustCreate(t, s, sbA, "d", 60_000, 0, "")
	srv.Cmd.Process.Signal(syscall.SIGSTOP)
	defer srv.Cmd.Process.Signal(syscall.SIGCONT)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := storetest.SessionResolve(s, sbA, res.Token[:], false, 2000, 0, nil)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if d > worst {
				worst = d
			}
			if errCode(err) != xerr.Unavailable {
				t.Errorf("hung server: %v", err)
			}
		}()
	}
	wg.Wait()
	if worst > 700*time.Millisecond {
		t.Fatalf("a request waited %v for a hung server (timeout 200 ms)", worst)
	}
	srv.Cmd.Process.Signal(syscall.SIGCONT)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := storetest.SessionResolve(s, sbA, res.Token[:], false, 2000, 0, nil)
		if err == nil && r.Status == session.OK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after SIGCONT: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
