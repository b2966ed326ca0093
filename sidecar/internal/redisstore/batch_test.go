package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// countHook counts what go-redis sends: commands alone, and pipelines with their sizes.
type countHook struct {
	mu    sync.Mutex
	alone []string
	pipes [][]string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if connSetup[cmd.Name()] {
			return next(ctx, cmd)
		}
		h.mu.Lock()
		h.alone = append(h.alone, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && connSetup[cmds[0].Name()] {
			return next(ctx, cmds)
		}
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.mu.Lock()
		h.pipes = append(h.pipes, names)
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// connSetup are the commands go-redis sends on a new connection (not counted).
var connSetup = map[string]bool{"hello": true, "client": true, "auth": true, "select": true}

// reset forgets what was counted.
func (h *countHook) reset() {
	h.mu.Lock()
	h.alone, h.pipes = nil, nil
	h.mu.Unlock()
}

func (h *countHook) snapshot() ([]string, [][]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.alone...), append([][]string(nil), h.pipes...)
}

// batchClient is a go-redis client on the shared standalone server, with a countHook.
func batchClient(t *testing.T) (*redis.Client, *countHook) {
	t.Helper()
	o, err := redis.ParseURL(standaloneURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	h := &countHook{}
	c.AddHook(h)
	return c, h
}

// hold keeps the batcher busy with a lone BLPOP on an empty list for d; it returns a channel
// closed when the BLPOP is answered.
func hold(t *testing.T, b *batcher, list string, d time.Duration) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cmd := redis.NewStringSliceCmd(context.Background(), "blpop", list, strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
		if err := b.process(context.Background(), cmd); err != nil && !errors.Is(err, redis.Nil) {
			t.Errorf("blpop: %v", err)
		}
	}()
	// Wait until the BLPOP holds the batcher.
	for i := 0; i < 200; i++ {
		b.mu.Lock()
		busy := b.busy
		b.mu.Unlock()
		if busy {
			return done
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the BLPOP never took the batcher")
	return done
}

// TestBatcherLoneCommandGoesAlone: with nothing in flight a command is sent at once, alone,
// on its caller's goroutine (no pipeline, no hand-off).
func TestBatcherLoneCommandGoesAlone(t *testing.T) {
	c, h := batchClient(t)
	b := newBatcher(c, 5*time.Second)
	for i := 0; i < 3; i++ {
		cmd := redis.NewStatusCmd(context.Background(), "ping")
		if err := b.process(context.Background(), cmd); err != nil || cmd.Val() != "PONG" {
			t.Fatalf("ping: %q %v", cmd.Val(), err)
		}
	}
	alone, pipes := h.snapshot()
	if len(alone) != 3 || len(pipes) != 0 {
		t.Fatalf("alone %v, pipelines %v; want 3 commands alone", alone, pipes)
	}
	if b.busy {
		t.Fatal("the batcher stays busy after its commands were answered")
	}
}

// TestBatcherGathersConcurrentCommands: commands that arrive while one is in flight leave
// together in one pipeline, each with its own reply.
func TestBatcherGathersConcurrentCommands(t *testing.T) {
	c, h := batchClient(t)
	ctx := context.Background()
	prefix := "batch:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	for i := 0; i < 20; i++ {
		if err := c.HSet(ctx, prefix+strconv.Itoa(i), "h", "v"+strconv.Itoa(i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s := &Store{batch: newBatchers(c, 5*time.Second)}
	h.reset()
	held := hold(t, s.batch.one, prefix+"empty", 300*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			vals, err := s.hmget(ctx, prefix+strconv.Itoa(i), "h", "missing")
			switch {
			case err != nil:
				errs <- err
			case len(vals) != 2 || vals[0] != "v"+strconv.Itoa(i) || vals[1] != nil:
				errs <- errors.New("wrong reply for key " + strconv.Itoa(i))
			}
		}(i)
	}
	// All 20 are queued behind the BLPOP before it ends.
	for i := 0; i < 250; i++ {
		s.batch.one.mu.Lock()
		n := len(s.batch.one.queue)
		s.batch.one.mu.Unlock()
		if n == 20 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	<-held
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	alone, pipes := h.snapshot()
	if len(alone) != 1 || len(pipes) != 1 || len(pipes[0]) != 20 {
		t.Fatalf("alone %v, pipelines of %d; want the BLPOP alone and one pipeline of 20", alone, len(pipes))
	}
}

// TestBatcherKeepsAnsweredCallersTogether: on one P (the sidecar's setting on Redis), callers
// that send again as soon as they are answered (a request's second command, a busy worker's
// next request) leave together in the next pipeline: 4 callers make pipelines of about 4. A
// flusher that took the queue before they ran made pipelines of 3 and 1 by turns, half a round
// trip per command (bench/FINDINGS.md, K).
func TestBatcherKeepsAnsweredCallersTogether(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, h := batchClient(t)
	ctx := context.Background()
	trips := func(noYield bool) float64 {
		b := newBatcher(c, 5*time.Second)
		b.noYield = noYield
		h.reset()
		const callers, each = 4, 200
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for g := 0; g < callers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					cmd := redis.NewStatusCmd(ctx, "ping")
					if err := b.process(ctx, cmd); err != nil || cmd.Val() != "PONG" {
						errs <- fmt.Errorf("ping: %q %v", cmd.Val(), err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		alone, pipes := h.snapshot()
		return float64(len(alone)+len(pipes)) / (callers * each)
	}
	before, now := trips(true), trips(false)
	t.Logf("round trips per command at 4 in flight: %.3f with the yield, %.3f without", now, before)
	if now > 0.5 {
		t.Fatalf("%.3f round trips per command at 4 in flight (without the yield: %.3f); want at most 0.5 (pipelines of about 4: 0.25)", now, before)
	}
}

// TestBatcherHonoursCallerContext: a queued caller whose context ends leaves at once, and its
// command, still queued then, is never sent.
func TestBatcherHonoursCallerContext(t *testing.T) {
	c, h := batchClient(t)
	key := "batch:ctx:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b := newBatcher(c, 5*time.Second)
	held := hold(t, b, key+":empty", 400*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.process(ctx, redis.NewStatusCmd(ctx, "set", key, "late"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 300*time.Millisecond {
		t.Fatalf("queued caller past its deadline: %v after %v", err, time.Since(start))
	}
	<-held
	// The flusher runs after the BLPOP; then the next command proves it is done.
	if err := b.process(context.Background(), redis.NewStatusCmd(context.Background(), "ping")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(context.Background(), key).Result(); err != nil || n != 0 {
		t.Fatalf("the abandoned SET was sent: exists=%d %v", n, err)
	}
	_, pipes := h.snapshot()
	for _, p := range pipes {
		for _, name := range p {
			if name == "set" {
				t.Fatalf("pipelines %v carry the abandoned SET", pipes)
			}
		}
	}
}

// TestBatcherScriptFallsBackToEval: a script Redis no longer has (SCRIPT FLUSH, a restart) is
// sent again with EVAL.
func TestBatcherScriptFallsBackToEval(t *testing.T) {
	c, _ := batchClient(t)
	ctx := context.Background()
	s := &Store{rdb: c, batch: newBatchers(c, 5*time.Second)}
	sc := redis.NewScript(`return ARGV[1] .. KEYS[1]`)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.runScript(ctx, sc, []string{"k"}, "v").Text()
	if err != nil || got != "vk" {
		t.Fatalf("script after SCRIPT FLUSH: %q %v", got, err)
	}
}

// TestBatcherUnansweredServer: a server that never answers fails the lone command and the
// queued ones at their callers' deadlines; the batcher is usable again afterwards.
func TestBatcherUnansweredServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			defer cn.Close() // read nothing, answer nothing
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), Protocol: 2, DisableIdentity: true,
		ContextTimeoutEnabled: true, MaxRetries: -1, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer c.Close()
	b := newBatcher(c, 200*time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	took := make([]time.Duration, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			errs[i] = b.process(ctx, redis.NewStatusCmd(ctx, "ping"))
			took[i] = time.Since(start)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || took[i] > time.Second {
			t.Fatalf("caller %d: %v after %v", i, err, took[i])
		}
	}
	// The flusher gives up at the pipeline's own bound and the batcher goes idle.
	for i := 0; i < 300; i++ {
		b.mu.Lock()
		busy := b.busy
		b.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the batcher stayed busy after the server never answered")
}

// TestBatchersOnePerClusterMaster: on a Redis Cluster each master has its own queue (a master
// that stalls holds up only its own requests), and a key always finds its master's.
func TestBatchersOnePerClusterMaster(t *testing.T) {
	rdb, cluster, err := connect(ConnConfig{Cluster: clusterURLs(t)})
	if err != nil || !cluster {
		t.Fatal(err)
	}
	defer rdb.Close()
	bs := newBatchers(rdb, 5*time.Second)
	ctx := context.Background()
	byMaster := map[string]*batcher{}
	for i := 0; i < 64; i++ {
		key := "batch:{" + strconv.Itoa(i) + "}"
		b := bs.forKey(ctx, key)
		if b == bs.direct || b == bs.one {
			t.Fatalf("key %s: not a master's batcher", key)
		}
		if b != bs.forKey(ctx, key) {
			t.Fatalf("key %s: two batchers", key)
		}
		node, err := rdb.(*redis.ClusterClient).MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := byMaster[node.Options().Addr]; ok && prev != b {
			t.Fatalf("master %s: two batchers", node.Options().Addr)
		}
		byMaster[node.Options().Addr] = b
		cmd := redis.NewStatusCmd(ctx, "set", key, "v")
		if err := b.process(ctx, cmd); err != nil {
			t.Fatalf("set through the master's batcher: %v", err)
		}
	}
	if len(byMaster) != 3 {
		t.Fatalf("%d masters seen, want the cluster's 3", len(byMaster))
	}
}
