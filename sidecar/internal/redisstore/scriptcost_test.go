package redisstore

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redistest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// BenchmarkScriptCost measures what one rotating request costs redis-server in CPU (INFO cpu,
// used_cpu_sys + used_cpu_user, divided by requests) for the store's scripts and for variants
// of them, next to the plain commands connect-redis sends for a rotation (GET + SET + DEL), on
// a private redis-server. Variants are alternated round by round so that the machine's drift
// hits all alike; only ratios within one run mean anything. The blobs are a real session's
// (header, last seen, 256-byte data as sealed today), copied to one key per goroutine; every
// script call succeeds its compare-and-set (the new header has the old one's bytes).
//
//	cd sidecar && XEMS_SCRIPTCOST_ROUNDS=3 go test ./internal/redisstore -run '^$' -bench ScriptCost -benchtime 1x -v
//
// Modes (XEMS_SCRIPTCOST_MODES, default rt,pipe16): "rt" sends each request's commands as their
// own round trips (one per step, as the sidecar does), "pipeN" sends N requests per write on
// each connection (the server's per-read cost spread over N; pipe16 is about the script's own
// execution). XEMS_SCRIPTCOST_ONLY=a,b picks variants (scriptcost_variants_test.go).
func BenchmarkScriptCost(b *testing.B) {
	rounds := envInt("XEMS_SCRIPTCOST_ROUNDS", 3)
	perRun := envInt("XEMS_SCRIPTCOST_N", 20000)
	only := os.Getenv("XEMS_SCRIPTCOST_ONLY")
	srv, err := redistest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	blobs := realBlobs(b, standaloneURL(b)) // the tests' shared server (the scan after the tests reads it)
	ctx := context.Background()
	clients := map[int]*redis.Client{}
	for _, proto := range []int{2, 3} {
		o, _ := redis.ParseURL(srv.URL())
		o.Protocol, o.PoolSize, o.DisableIdentity = proto, 32, true
		clients[proto] = redis.NewClient(o)
		defer clients[proto].Close()
	}
	rc := clients[3]
	variants := scriptCostVariants(b, ctx, rc, blobs)
	if only != "" {
		var keep []costVariant
		for _, v := range variants {
			if strings.Contains(","+only+",", ","+v.name+",") {
				keep = append(keep, v)
			}
		}
		variants = keep
	}
	const goroutines = 8
	modes := strings.Split(os.Getenv("XEMS_SCRIPTCOST_MODES"), ",")
	if modes[0] == "" {
		modes = []string{"rt", "pipe16"}
	}
	results := map[string][]float64{}
	for round := 0; round < rounds; round++ {
		for _, mode := range modes {
			for _, v := range variants {
				c := clients[3]
				if v.resp2 {
					c = clients[2]
				}
				cpu0 := redisCPU(b, rc)
				runVariant(b, ctx, c, v, blobs, mode, goroutines, perRun, round)
				cpu := redisCPU(b, rc) - cpu0
				results[mode+" "+v.name] = append(results[mode+" "+v.name], cpu/float64(perRun))
			}
		}
	}
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	base := map[string]float64{}
	for _, mode := range modes {
		base[mode] = median(results[mode+" plain"])
	}
	fmt.Printf("redis-server CPU µs per request (%d rounds of %d requests, %d goroutines); ratio = median / median of plain\n", rounds, perRun, goroutines)
	for _, n := range names {
		mode, _, _ := strings.Cut(n, " ")
		m := median(results[n])
		fmt.Printf("%-24s median %6.2f  ratio %5.2f  runs %s\n", n, m, m/base[mode], fmtRuns(results[n]))
	}
}

// costVariant is one way of doing a rotating request: steps of commands, each step one round
// trip in "rt" mode.
type costVariant struct {
	name  string
	resp2 bool
	steps []func(p redis.Pipeliner, k *costKeys)
}

// costKeys are one goroutine's keys and arguments.
type costKeys struct {
	sess, cur, next string
	blobs           sessBlobs
}

type sessBlobs struct{ h, l, d, plain string }

// realBlobs creates a session through a Store (256-byte data, as the bench's user JSON is
// sealed) and reads its fields as stored.
func realBlobs(b *testing.B, url string) sessBlobs {
	s := newRedisStore(b, ConnConfig{URL: url}, randomSecret(), nil, "cost:", session.NewSystemClock())
	data := []byte(`{"userId":"u1","name":"Bench user u1","roles":["user","reader"]}`)
	data = append(data, strings.Repeat(" ", 256-len(data))...)
	if _, err := s.SessionCreate(noDL, sbA, data, session.CreateOptions{TTLMs: 3_600_000}); err != nil {
		b.Fatal(err)
	}
	o, _ := redis.ParseURL(url)
	rc := redis.NewClient(o)
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), "cost:*:s:*").Result()
	if err != nil || len(keys) != 1 {
		b.Fatalf("keys %v %v", keys, err)
	}
	f, err := rc.HGetAll(context.Background(), keys[0]).Result()
	if err != nil {
		b.Fatal(err)
	}
	// connect-redis stores the session JSON: the cookie and the user (about 200 bytes here).
	plain := `{"cookie":{"originalMaxAge":null,"expires":null,"secure":true,"httpOnly":true,"path":"/","sameSite":"strict"},"user":{"userId":"u1","name":"Bench user u1","roles":["user","reader"]}}`
	b.Logf("key %d bytes, h %d, l %d, d %d, plain value %d", len(keys[0]), len(f["h"]), len(f["l"]), len(f["d"]), len(plain))
	return sessBlobs{h: f["h"], l: f["l"], d: f["d"], plain: plain}
}

func runVariant(b *testing.B, ctx context.Context, c *redis.Client, v costVariant, blobs sessBlobs, mode string, goroutines, n, round int) {
	per := n / goroutines
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			tag := fmt.Sprintf("{c%d-%d}", g, round)
			k := &costKeys{sess: "xems:s:" + tag + strings.Repeat("a", 43), cur: "sess:" + tag + "A", next: "sess:" + tag + "B", blobs: blobs}
			if err := c.HSet(ctx, k.sess, "h", k.blobs.h, "l", k.blobs.l, "d", k.blobs.d).Err(); err != nil {
				errs <- err
				return
			}
			c.Expire(ctx, k.sess, time.Hour)
			c.Set(ctx, k.cur, k.blobs.plain, time.Hour)
			batch, _ := strconv.Atoi(strings.TrimPrefix(mode, "pipe"))
			for i := 0; i < per; i += max(batch, 1) {
				if batch > 0 {
					p := c.Pipeline()
					for j := 0; j < batch; j++ {
						for _, st := range v.steps {
							st(p, k)
						}
						k.cur, k.next = k.next, k.cur
					}
					if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
						errs <- fmt.Errorf("%s: %w", v.name, err)
						return
					}
					continue
				}
				for _, st := range v.steps {
					p := c.Pipeline()
					st(p, k)
					if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
						errs <- fmt.Errorf("%s: %w", v.name, err)
						return
					}
				}
				k.cur, k.next = k.next, k.cur
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func fmtRuns(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}
