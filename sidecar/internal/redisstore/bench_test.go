package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// Benchmarks of the Redis resolve path against a real redis-server (started like the tests'
// servers; the benchmarks fail, like the tests, when none can be started). Besides ns/op they
// report, from INFO commandstats deltas, the Redis commands (calls of every command, scripts'
// inner calls included: what the server executes) and the server's own microseconds per resolve.
//
//	cd sidecar && go test ./internal/redisstore -run '^$' -bench Resolve -benchtime 2000x -cpuprofile /tmp/cpu.out

// BenchmarkResolveRotate: every resolve presents the current token and rotates it (the rotating
// /me of the bench), one session, sequential.
func BenchmarkResolveRotate(b *testing.B) {
	benchResolve(b, session.ResolveOptions{Rotate: true, GraceMs: 2000}, true)
}

// BenchmarkResolveRefresh: the same token presented again and again without rotation (Node's
// late-response refresh, a client without rotation): nothing changes but the last-seen time.
func BenchmarkResolveRefresh(b *testing.B) {
	benchResolve(b, session.ResolveOptions{GraceMs: 2000}, false)
}

// BenchmarkResolveRotateParallel: rotating resolves of 16 sessions at once, one per goroutine
// (the sidecar's workers under load).
func BenchmarkResolveRotateParallel(b *testing.B) {
	benchResolveN(b, session.ResolveOptions{Rotate: true, GraceMs: 2000}, true, 16)
}

// BenchmarkResolveBatching: rotating resolves, 1, 4 and 16 in flight, with every command alone
// (off), with concurrent commands gathered into pipelines (on, batch.go), and gathered by a
// flusher that does not yield after answering a pipeline (noyield: before bench/FINDINGS.md K).
func BenchmarkResolveBatching(b *testing.B) {
	for _, parallel := range []int{1, 4, 16} {
		for _, mode := range []string{"off", "on", "noyield"} {
			b.Run(fmt.Sprintf("%s/%d", mode, parallel), func(b *testing.B) {
				benchBatching, benchNoYield = mode != "off", mode == "noyield"
				defer func() { benchBatching, benchNoYield = true, false }()
				benchResolveN(b, session.ResolveOptions{Rotate: true, GraceMs: 2000}, true, parallel)
			})
		}
	}
}

// benchBatching: whether the benchmarks' Stores gather commands (batch.go); benchNoYield:
// whether their flushers skip the yield after a pipeline.
var benchBatching, benchNoYield = true, false

func benchResolve(b *testing.B, o session.ResolveOptions, follow bool) {
	benchResolveN(b, o, follow, 1)
}

// BenchmarkResolveRotateTwoInstances: two Stores on one Redis take turns rotating one
// session (two app instances behind a round-robin balancer, bench app 6): each finds its
// cached header stale, so after the first window it reads first.
func BenchmarkResolveRotateTwoInstances(b *testing.B) {
	benchResolveOn(b, session.ResolveOptions{Rotate: true, GraceMs: 2000}, true, 1, 2)
}

func benchResolveN(b *testing.B, o session.ResolveOptions, follow bool, parallel int) {
	benchResolveOn(b, o, follow, parallel, 1)
}

// benchResolveOn runs the resolves over `instances` Stores sharing one Redis, taking turns.
func benchResolveOn(b *testing.B, o session.ResolveOptions, follow bool, parallel, instances int) {
	url := standaloneURL(b)
	secret, prefix := randomSecret(), testPrefix("bench")
	stores := make([]*Store, instances)
	for i := range stores {
		stores[i] = newRedisStore(b, ConnConfig{URL: url}, secret, nil, prefix, session.NewSystemClock())
		stores[i].batch.one.off = !benchBatching
		stores[i].batch.one.noYield = benchNoYield
		if err := stores[i].Check(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	s := stores[0]
	dl := session.Deadline(time.Now().UnixMilli() + 600_000) // a deadline, as every request has
	procs := runtime.GOMAXPROCS(0)
	perProc := max(1, parallel/procs)
	goroutines := perProc * procs
	tokens := make(chan []byte, goroutines)
	for i := 0; i < goroutines; i++ {
		c, err := s.SessionCreate(noDL, sbA, []byte(`{"user":"u1","roles":["a","b"]}`), session.CreateOptions{TTLMs: 3_600_000, IdleMs: 1_800_000})
		if err != nil {
			b.Fatal(err)
		}
		tokens <- c.Token[:]
	}
	po, _ := redis.ParseURL(url)
	rc := redis.NewClient(po)
	defer rc.Close()
	before := commandStats(b, rc)
	cpu0 := processCPU()
	b.ResetTimer()
	if parallel == 1 {
		tok := <-tokens
		buf := make([]byte, 0, 256)
		for i := 0; i < b.N; i++ {
			r, err := stores[i%instances].SessionResolve(dl, sbA, tok, o, buf[:0])
			if err != nil || r.Status != session.OK {
				b.Fatalf("resolve: %v %v", r.Status, err)
			}
			if follow {
				tok = r.Token[:]
			}
		}
	} else {
		b.SetParallelism(perProc)
		b.RunParallel(func(pb *testing.PB) { resolveLoop(b, s, dl, <-tokens, o, follow, pb) })
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	after := commandStats(b, rc)
	n := float64(b.N)
	var calls float64
	for name, a := range after {
		if name != "info" && name != "cpu" {
			calls += a[0] - before[name][0]
		}
	}
	delta := func(name string, i int) float64 { return after[name][i] - before[name][i] }
	// Scripts' inner commands count as calls of their own (what the server executes); the usec
	// of evalsha already includes them, so the time is that of the top-level commands only.
	if testing.Verbose() {
		for name, a := range after {
			if d := a[0] - before[name][0]; d != 0 && name != "cpu" {
				b.Logf("%s: %.2f calls/op, %.2f usec/op", name, d/n, (a[1]-before[name][1])/n)
			}
		}
	}
	b.ReportMetric(calls/n, "rediscmds/op")
	b.ReportMetric(delta("evalsha", 0)/n, "evalsha/op")
	b.ReportMetric((delta("evalsha", 1)+delta("hmget", 1))/n, "redis-usec/op")
	b.ReportMetric(delta("cpu", 0)/n, "redis-cpu-usec/op")
	b.ReportMetric(float64(cpu.Microseconds())/n, "client-cpu-usec/op")
}

// processCPU is this process's CPU time (user + system): the store's side of each resolve
// (sealing, go-redis, the goroutine wake-ups), what the sidecar spends on it.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func resolveLoop(b *testing.B, s *Store, dl session.Deadline, tok []byte, o session.ResolveOptions, follow bool, pb *testing.PB) {
	buf := make([]byte, 0, 256)
	for pb.Next() {
		r, err := s.SessionResolve(dl, sbA, tok, o, buf[:0])
		if err != nil || r.Status != session.OK {
			b.Errorf("resolve: %v %v", r.Status, err)
			return
		}
		if follow {
			tok = r.Token[:]
		}
	}
}

// commandStats reads INFO commandstats: calls and usec per command name.
func commandStats(t testing.TB, rc *redis.Client) map[string][2]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := rc.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var v [2]float64
		for _, f := range strings.Split(rest, ",") {
			k, val, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				v[0], _ = strconv.ParseFloat(val, 64)
			case "usec":
				v[1], _ = strconv.ParseFloat(val, 64)
			}
		}
		out[strings.TrimPrefix(name, "cmdstat_")] = v
	}
	out["cpu"] = [2]float64{redisCPU(t, rc)}
	return out
}

// redisCPU is redis-server's own CPU time so far (used_cpu_sys + used_cpu_user of INFO cpu), in µs.
func redisCPU(t testing.TB, rc *redis.Client) float64 {
	info, err := rc.Info(context.Background(), "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, val, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			f, _ := strconv.ParseFloat(val, 64)
			total += f * 1e6
		}
	}
	return total
}
