package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

func benchResolve(b *testing.B, o session.ResolveOptions, follow bool) {
	url := standaloneURL(b)
	s := newRedisStore(b, ConnConfig{URL: url}, randomSecret(), nil, fmt.Sprintf("bench%d:", prefixSeq.Add(1)), session.NewSystemClock())
	if err := s.Check(context.Background()); err != nil {
		b.Fatal(err)
	}
	c, err := s.SessionCreate(noDL, sbA, []byte(`{"user":"u1","roles":["a","b"]}`), session.CreateOptions{TTLMs: 3_600_000, IdleMs: 1_800_000})
	if err != nil {
		b.Fatal(err)
	}
	tok := c.Token
	po, _ := redis.ParseURL(url)
	rc := redis.NewClient(po)
	defer rc.Close()
	before := commandStats(b, rc)
	buf := make([]byte, 0, 256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := s.SessionResolve(noDL, sbA, tok[:], o, buf[:0])
		if err != nil || r.Status != session.OK {
			b.Fatalf("resolve %d: %v %v", i, r.Status, err)
		}
		if follow {
			tok = r.Token
		}
	}
	b.StopTimer()
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
	cpu, err := rc.Info(ctx, "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(cpu, "\n") {
		name, val, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			f, _ := strconv.ParseFloat(val, 64)
			total += f * 1e6
		}
	}
	out["cpu"] = [2]float64{total}
	return out
}
