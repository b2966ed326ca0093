package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// backend is what the server calls: *store.Store and *Store both implement it. The scenarios of
// internal/storetest run against Redis (one server and a three-master cluster) here and against
// the memory store in internal/store, and expect the same answers.
type backend = storetest.Backend

var _ backend = (*Store)(nil)

type fakeClock = storetest.FakeClock

// noDL is the deadline of the tests' calls: none.
const noDL = session.NoDeadline

// newFakeClock starts at the real time (Redis expires keys by its own clock: a record must never
// be written with an expiry already in Redis's past) and moves only forward, by hand.
func newFakeClock() *fakeClock { return storetest.NewFakeClock(time.Now().UnixMilli()) }

var sbA = []byte("sessions")

var errCode = storetest.ErrCode

// env is one test's store: open returns another instance over the same data (for Redis, a
// second sidecar sharing the server, the secret and the key prefix; for memory, the same store).
type env struct {
	name   string
	clock  session.Clock
	open   func() backend
	prefix string
	urls   []string // Redis: the server(s)
	redis  bool
}

// shared is the env as the storetest scenarios see it.
func (e *env) shared() *storetest.Env {
	return &storetest.Env{Open: e.open}
}

var prefixSeq atomic.Int64

// runTag sets this test process's key prefixes apart from those of other processes and earlier
// runs on the same server (XEMS_TEST_REDIS_URL): a prefix's key check refuses another secret.
var runTag = func() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

// testPrefix is a key prefix of its own for one test's store: kind, the run's tag, a sequence number.
func testPrefix(kind string) string { return fmt.Sprintf("%s%s-%d:", kind, runTag, prefixSeq.Add(1)) }

type backendKind struct {
	name string
	env  func(t testing.TB, clock session.Clock) *env
}

func memoryKind() backendKind {
	return backendKind{"memory", func(t testing.TB, clock session.Clock) *env {
		m, err := crypto.NewMaster(nil)
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(store.Options{Master: m, Clock: clock})
		return &env{name: "memory", clock: clock, open: func() backend { return s }}
	}}
}

func redisKind(name string, cluster bool) backendKind {
	return backendKind{name, func(t testing.TB, clock session.Clock) *env {
		secret := make([]byte, SecretSize)
		rand.Read(secret)
		keys, err := DeriveKeys(secret, []byte("test-deployment"))
		if err != nil {
			t.Fatal(err)
		}
		e := &env{name: name, clock: clock, redis: true, prefix: testPrefix("xt")}
		conn := ConnConfig{Timeout: 2 * time.Second}
		if cluster {
			conn.Cluster = clusterURLs(t)
			e.urls = conn.Cluster
		} else {
			conn.URL = standaloneURL(t)
			e.urls = []string{conn.URL}
		}
		e.open = func() backend {
			s, err := New(Options{Conn: conn, Keys: keys, KeyPrefix: e.prefix, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return track(s)
		}
		return e
	}}
}

func allKinds() []backendKind {
	return []backendKind{memoryKind(), redisKind("redis", false), redisKind("redis-cluster", true)}
}

// eachRedis runs f once per Redis backend (one server, a cluster), each with its own fake clock.
func eachRedis(t *testing.T, f func(t *testing.T, e *env, clock *fakeClock)) {
	for _, k := range allKinds()[1:] {
		t.Run(k.name, func(t *testing.T) {
			clock := newFakeClock()
			e := k.env(t, clock)
			// Redis keeps expiry times by its own clock: start the fake clock at real time once the
			// servers are up (starting a cluster takes seconds), so both agree until a test moves it.
			clock.Advance(time.Now().UnixMilli() - clock.NowMs())
			f(t, e, clock)
		})
	}
}

// eachShared is the storetest.Each of the Redis backends.
func eachShared(t *testing.T, f func(t *testing.T, e *storetest.Env, s backend, clock *fakeClock)) {
	eachRedis(t, func(t *testing.T, e *env, clock *fakeClock) { f(t, e.shared(), e.open(), clock) })
}

func mustCreate(t testing.TB, s backend, sb []byte, data string, ttl, idle uint64, user string) session.CreateResult {
	t.Helper()
	return storetest.MustCreate(t, track(s), sb, data, ttl, idle, user)
}

func createWith(t testing.TB, s backend, sb []byte, data string, o session.CreateOptions) session.CreateResult {
	t.Helper()
	return storetest.CreateWith(t, track(s), sb, data, o)
}

func resolve(t testing.TB, s backend, sb []byte, token []byte, rotate bool, grace uint64) session.ResolveResult {
	t.Helper()
	return storetest.Resolve(t, track(s), sb, token, rotate, grace)
}

// tracked records every token and CSRF token its backend issues in secrets.
type tracked struct{ backend }

func track(s backend) backend {
	if _, ok := s.(tracked); ok {
		return s
	}
	return tracked{s}
}

func (s tracked) SessionCreate(dl session.Deadline, sb, data []byte, o session.CreateOptions) (session.CreateResult, error) {
	res, err := s.backend.SessionCreate(dl, sb, data, o)
	if err == nil {
		secrets.add(res.Token[:], res.CSRF[:])
	}
	return res, err
}

func (s tracked) SessionResolve(dl session.Deadline, sb, token []byte, o session.ResolveOptions, dst []byte) (session.ResolveResult, error) {
	res, err := s.backend.SessionResolve(dl, sb, token, o, dst)
	if err == nil && res.Status == session.OK {
		secrets.add(res.Token[:])
		if res.HasCSRF {
			secrets.add(res.CSRF[:])
		}
	}
	return res, err
}

func (s tracked) SessionRegenerate(dl session.Deadline, sb, token []byte, graceMs uint64, keepData bool, data []byte, auth *session.Auth) (session.RegenerateResult, error) {
	res, err := s.backend.SessionRegenerate(dl, sb, token, graceMs, keepData, data, auth)
	if err == nil && res.Status == session.OK {
		secrets.add(res.Token[:], res.CSRF[:])
	}
	return res, err
}

// secrets collects every token, raw sid and secret, CSRF token and planted marker the tests
// produce; TestMain searches every key and value left in Redis for each of them.
var secrets = &secretSet{}

type secretSet struct {
	mu   sync.Mutex
	list [][]byte
}

func (s *secretSet) add(vals ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		if len(v) < 8 {
			continue
		}
		s.list = append(s.list, bytes.Clone(v))
		if len(v) == crypto.TokenLength {
			if t, ok := crypto.ParseToken(v); ok {
				s.list = append(s.list, bytes.Clone(t.SID[:]), bytes.Clone(t.Secret[:]))
			}
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := scanEverything(allNodeAddrs(), secrets.list); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: scan of every key and value in Redis after the tests:", err)
			code = 1
		}
	}
	stopShared()
	os.Exit(code)
}

// scanEverything reads every key and every value of every server and searches them for the
// needles (in raw form and base64url, as a token travels).
func scanEverything(addrs []string, needles [][]byte) error {
	ctx := context.Background()
	var forms [][]byte
	for _, n := range needles {
		forms = append(forms, n, []byte(b64.EncodeToString(n)))
	}
	for _, marker := range []string{plantedMarker} {
		forms = append(forms, []byte(marker))
	}
	keys, bytesSeen := 0, 0
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		var cursor uint64
		for {
			batch, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
			if err != nil {
				c.Close()
				return err
			}
			for _, k := range batch {
				blob, err := dumpKey(ctx, c, k)
				if err != nil {
					c.Close()
					return err
				}
				keys++
				bytesSeen += len(blob)
				for _, f := range forms {
					if bytes.Contains(blob, f) {
						c.Close()
						return fmt.Errorf("found %q (or its base64url form) in key %q on %s", shorten(f), k, addr)
					}
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		c.Close()
	}
	if keys == 0 {
		return fmt.Errorf("no key at all in Redis: the scan saw nothing")
	}
	fmt.Fprintf(os.Stderr, "scanned %d keys (%d bytes) in %d Redis servers for %d secrets: none found\n", keys, bytesSeen, len(addrs), len(needles))
	return nil
}

func shorten(b []byte) string {
	if len(b) > 24 {
		return string(b[:24]) + "..."
	}
	return string(b)
}

// dumpKey returns a key's name and its whole value, whatever its type.
func dumpKey(ctx context.Context, c *redis.Client, k string) ([]byte, error) {
	out := []byte(k)
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "string":
		v, err := c.Get(ctx, k).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		out = append(out, v...)
	case "hash":
		m, err := c.HGetAll(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		for f, v := range m {
			out = append(append(out, f...), v...)
		}
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			out = append(out, fmt.Sprint(z.Member)...)
		}
	case "none":
	default:
		return nil, fmt.Errorf("unexpected type %s of key %q", typ, k)
	}
	return out, nil
}

// plantedMarker is put in every input of TestNothingSecretReachesRedis.
const plantedMarker = "PLANTED-c0ffee42-"

func withMarker(what string) []byte { return []byte(plantedMarker + what) }

// sessionKeysByNode counts the session keys of a prefix on each master of a cluster.
func sessionKeysByNode(t testing.TB, urls []string, prefix string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, u := range urls {
		o, _ := redis.ParseURL(u)
		c := redis.NewClient(o)
		keys, err := c.Keys(context.Background(), prefix+"*").Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.Contains(k, "}:s:") {
				out[o.Addr]++
			}
		}
	}
	return out
}
