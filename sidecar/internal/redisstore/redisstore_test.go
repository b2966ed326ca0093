package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Behaviour only the Redis backend has: sealing of every field, nothing secret in Redis (and
// the helpers of the Redis-only tests: keys_test.go, outage_test.go, rules_test.go).

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

// TestKeyLayout: what the keys in Redis look like, and that a user's sessions share a slot.

func addrsOf(urls []string) []string {
	var out []string
	for _, u := range urls {
		o, _ := redis.ParseURL(u)
		out = append(out, o.Addr)
	}
	return out
}

// TestSessionsSpreadOverMasters: sessions of many users land on every master of the cluster.

// TestEveryFieldIsSealed flips bytes and moves fields in Redis: nothing opens, nothing is served.

func TestEveryFieldIsSealed(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := testPrefix("ts")
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
			g, _ := s.SessionRegenerate(noDL, sbA, bound.Token[:], 2000, true, nil, nil)
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

// TestOutageAndRecovery: the server is killed, then started again. Requests fail fast with

// UNAVAILABLE (the first ones within the timeout, then at once through the open breaker),

// never hang and never succeed; the store recovers by itself once the server is back. With

// appendfsync always, nothing the store acknowledged is lost.

// TestHungServer: a server that stops answering (SIGSTOP) costs each request at most the

// timeout, then nothing once the breaker is open; it recovers after SIGCONT.
