package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
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
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// backend is what the server calls: *store.Store and *Store both implement it. The conformance
// tests run the same scenarios against the memory store and against Redis (one server and a
// three-master cluster) and expect the same answers.
type backend interface {
	KVSet(sandbox, name, value []byte, ttlMs uint64) (int64, error)
	KVGet(sandbox, name, dst []byte) ([]byte, int64, bool, error)
	KVDel(sandbox, name []byte) (bool, error)
	KVHas(sandbox, name []byte) (bool, error)
	KVTTL(sandbox, name []byte) (int64, bool, error)
	KVTouch(sandbox, name []byte, ttlMs uint64) (int64, bool, error)
	KVScan(sandbox, prefix, cursor []byte, limit uint32) ([][]byte, string, error)
	Clear(sandbox []byte) (uint64, error)
	SessionCreate(sandbox, data []byte, ttlMs, idleMs uint64, userID, meta []byte) (store.CreateResult, error)
	SessionCreateWith(sandbox, data []byte, o store.CreateOptions) (store.CreateResult, error)
	SessionResolve(sandbox, token []byte, rotate bool, graceMs, minRotateMs uint64, dst []byte) (store.ResolveResult, error)
	SessionResolveWith(sandbox, token []byte, o store.ResolveOptions, dst []byte) (store.ResolveResult, error)
	SessionUpdate(sandbox, token, data []byte) (int64, bool, error)
	SessionUpdateGrace(sandbox, token, data []byte, graceMs uint64) (int64, bool, error)
	SessionRevoke(sandbox, token []byte) (bool, error)
	SessionRevokeToken(sandbox, token []byte) (crypto.Digest, bool, error)
	SessionRevokeID(sandbox, sessionID []byte) (bool, error)
	SessionList(sandbox, userID []byte) ([]store.SessionInfo, error)
	SessionRevokeAll(sandbox, userID, exceptToken []byte) (uint32, error)
	SessionRevokeAllIDs(sandbox, userID, except []byte) ([]crypto.Digest, error)
	SessionRegenerate(sandbox, token []byte, graceMs uint64, keepData bool, data []byte) (store.RegenerateResult, error)
	Stats() store.Stats
}

var (
	_ backend = (*store.Store)(nil)
	_ backend = (*Store)(nil)
)

// fakeClock starts at the real time (Redis expires keys by its own clock: a record must never
// be written with an expiry already in Redis's past) and moves only forward, by hand.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(time.Now().UnixMilli())
	return c
}

func (c *fakeClock) NowMs() int64     { return c.ms.Load() }
func (c *fakeClock) Advance(ms int64) { c.ms.Add(ms) }

var (
	sbA = []byte("sessions")
	sbB = []byte("other")
)

func errCode(err error) xerr.Code {
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return xe.Code
	}
	return 0
}

// env is one test's store: open returns another instance over the same data (for Redis, a
// second sidecar sharing the server, the secret and the key prefix; for memory, the same store).
type env struct {
	name   string
	clock  store.Clock
	open   func() backend
	prefix string
	urls   []string // Redis: the server(s)
	redis  bool
}

var prefixSeq atomic.Int64

type backendKind struct {
	name string
	env  func(t testing.TB, clock store.Clock) *env
}

func memoryKind() backendKind {
	return backendKind{"memory", func(t testing.TB, clock store.Clock) *env {
		m, err := crypto.NewMaster(nil)
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(store.Options{Master: m, Clock: clock})
		return &env{name: "memory", clock: clock, open: func() backend { return s }}
	}}
}

func redisKind(name string, cluster bool) backendKind {
	return backendKind{name, func(t testing.TB, clock store.Clock) *env {
		secret := make([]byte, SecretSize)
		rand.Read(secret)
		keys, err := DeriveKeys(secret, []byte("test-deployment"))
		if err != nil {
			t.Fatal(err)
		}
		e := &env{name: name, clock: clock, redis: true, prefix: fmt.Sprintf("xt%d:", prefixSeq.Add(1))}
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
			return s
		}
		return e
	}}
}

func allKinds() []backendKind {
	return []backendKind{memoryKind(), redisKind("redis", false), redisKind("redis-cluster", true)}
}

// each runs f once per backend, each with its own fake clock and store.
func each(t *testing.T, f func(t *testing.T, e *env, s backend, clock *fakeClock)) {
	for _, k := range allKinds() {
		t.Run(k.name, func(t *testing.T) {
			clock := newFakeClock()
			e := k.env(t, clock)
			f(t, e, e.open(), clock)
		})
	}
}

// eachRedis is each for the Redis backends only.
func eachRedis(t *testing.T, f func(t *testing.T, e *env, clock *fakeClock)) {
	for _, k := range allKinds()[1:] {
		t.Run(k.name, func(t *testing.T) {
			clock := newFakeClock()
			f(t, k.env(t, clock), clock)
		})
	}
}

func mustCreate(t testing.TB, s backend, sb []byte, data string, ttl, idle uint64, user string) store.CreateResult {
	t.Helper()
	res, err := s.SessionCreate(sb, []byte(data), ttl, idle, []byte(user), nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(res.Token[:], res.CSRF[:])
	return res
}

func createWith(t testing.TB, s backend, sb []byte, data string, o store.CreateOptions) store.CreateResult {
	t.Helper()
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	res, err := s.SessionCreateWith(sb, []byte(data), o)
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(res.Token[:], res.CSRF[:])
	return res
}

func resolve(t testing.TB, s backend, sb []byte, token []byte, rotate bool, grace uint64) store.ResolveResult {
	t.Helper()
	res, err := s.SessionResolve(sb, token, rotate, grace, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == store.OK {
		secrets.add(res.Token[:])
	}
	return res
}

func resolveWith(t testing.TB, s backend, sb, token []byte, o store.ResolveOptions) store.ResolveResult {
	t.Helper()
	if o.GraceMs == 0 {
		o.GraceMs = 2000
	}
	res, err := s.SessionResolveWith(sb, token, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == store.OK {
		secrets.add(res.Token[:])
	}
	return res
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
