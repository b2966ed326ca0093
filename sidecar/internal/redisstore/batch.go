package redisstore

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher gathers the commands of concurrent session operations into one write to Redis and
// one read of the replies (a pipeline), the way node-redis serves connect-redis. Each command
// that goes to Redis on its own costs the sidecar a write and a read system call, a pool
// checkout and a goroutine wake-up; under load those were most of the sidecar's CPU per request
// (bench/FINDINGS.md).
//
//   - A command that finds nothing in flight goes out at once on its caller's goroutine: a lone
//     request waits for nobody and pays no hand-off.
//   - A command that finds one in flight joins the queue; when the command in flight is
//     answered, a flusher goroutine sends everything queued as one pipeline, and repeats while
//     commands keep arriving. So at most one write is in flight per Store, and a burst of N
//     concurrent requests costs one round trip where it cost N.
//   - Each caller keeps its own context: one that is done leaves at once (UNAVAILABLE or
//     DEADLINE_EXCEEDED, as before), and a command whose context is done before its batch is
//     written is never sent. Scripts that change anything carry the request's deadline, which
//     Redis checks itself, so a command written just before its caller gave up cannot apply late.
type batcher struct {
	rdb     client
	timeout time.Duration // bounds one pipeline (the store's operation timeout)
	off     bool          // every command alone (benchmarks compare)
	noYield bool          // the flusher does not yield after answering a pipeline (benchmarks compare)

	mu    sync.Mutex
	busy  bool       // a lone command or a flusher is talking to Redis
	queue []*batched // commands waiting for the next pipeline
	spare []*batched // the flusher's previous queue, reused
}

// batched is a queued command; done is closed when its reply (or error) is set.
type batched struct {
	ctx  context.Context
	cmd  redis.Cmder
	done chan struct{}
}

func newBatcher(rdb client, timeout time.Duration) *batcher {
	return &batcher{rdb: rdb, timeout: timeout}
}

// process runs cmd, alone or in the next pipeline, and returns its error (or ctx's, when the
// caller's context ends first).
func (b *batcher) process(ctx context.Context, cmd redis.Cmder) error {
	if b.off {
		return b.rdb.Process(ctx, cmd)
	}
	b.mu.Lock()
	if !b.busy {
		b.busy = true
		b.mu.Unlock()
		err := b.rdb.Process(ctx, cmd)
		b.release()
		return err
	}
	w := &batched{ctx: ctx, cmd: cmd, done: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()
	select {
	case <-w.done:
		return cmd.Err()
	case <-ctx.Done():
		return ctx.Err() // the flusher still owns cmd: its reply is dropped
	}
}

// release ends a lone command: what queued meanwhile goes to a flusher, so that this caller
// returns now instead of carrying the others' round trip.
func (b *batcher) release() {
	b.mu.Lock()
	q := b.take()
	b.mu.Unlock()
	if q != nil {
		go b.flush(q)
	}
}

// take hands out the queue, or marks the batcher idle when it is empty. Called with mu held.
func (b *batcher) take() []*batched {
	if len(b.queue) == 0 {
		b.busy = false
		return nil
	}
	q := b.queue
	b.queue, b.spare = b.spare[:0], nil
	return q
}

// flush sends q as one pipeline, answers its callers, and goes on with what queued meanwhile.
func (b *batcher) flush(q []*batched) {
	for q != nil {
		b.send(q)
		for i, w := range q {
			close(w.done)
			q[i] = nil
		}
		if !b.noYield {
			// Let the callers just answered run before the next take: each queues its next
			// command (a request's second command, the next request of a busy worker) and it
			// leaves in the next pipeline. On one P (the sidecar's setting on Redis, server/
			// procs.go) the flusher would otherwise take the queue first, and the pipelines
			// would alternate between one command and the rest: 0.5 round trips per command
			// at 4 in flight instead of 0.25 (bench/FINDINGS.md, K).
			runtime.Gosched()
		}
		b.mu.Lock()
		b.spare = q[:0]
		q = b.take()
		b.mu.Unlock()
	}
}

// send writes the commands of q whose callers still wait, as one pipeline, and reads their
// replies. The pipeline's own bound is the store's operation timeout: each caller's context
// already bounds how long that caller waits.
func (b *batcher) send(q []*batched) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	pipe := b.rdb.Pipeline()
	n := 0
	for _, w := range q {
		if err := w.ctx.Err(); err != nil {
			w.cmd.SetErr(err)
			continue
		}
		_ = pipe.Process(ctx, w.cmd)
		n++
	}
	if n > 0 {
		_, _ = pipe.Exec(ctx) // each command carries its own reply or error
	}
}

// batchers are the Store's batchers: one for a standalone server, one per master of a Redis
// Cluster (a master that stalls or fails over holds up only the requests it serves).
type batchers struct {
	one    *batcher
	nodes  sync.Map // master address -> *batcher (Cluster)
	direct *batcher // every command alone: when the Cluster's layout is not known yet
}

func newBatchers(rdb client, timeout time.Duration) *batchers {
	return &batchers{one: newBatcher(rdb, timeout), direct: &batcher{rdb: rdb, timeout: timeout, off: true}}
}

// forKey returns the batcher of the server that holds key. Commands still go through the
// Cluster client, which follows MOVED and ASK: the address only chooses the queue.
func (bs *batchers) forKey(ctx context.Context, key string) *batcher {
	cc, ok := bs.one.rdb.(*redis.ClusterClient)
	if !ok {
		return bs.one
	}
	node, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return bs.direct
	}
	addr := node.Options().Addr
	if b, ok := bs.nodes.Load(addr); ok {
		return b.(*batcher)
	}
	b, _ := bs.nodes.LoadOrStore(addr, &batcher{rdb: bs.one.rdb, timeout: bs.one.timeout, off: bs.one.off, noYield: bs.one.noYield})
	return b.(*batcher)
}

// hmget is HMGET through the batcher.
func (s *Store) hmget(ctx context.Context, key string, fields ...string) ([]any, error) {
	args := make([]any, 2, 2+len(fields))
	args[0], args[1] = "hmget", key
	for _, f := range fields {
		args = append(args, f)
	}
	cmd := redis.NewSliceCmd(ctx, args...)
	if err := s.batch.forKey(ctx, key).process(ctx, cmd); err != nil {
		return nil, err // cmd may still be in a pipeline: not read
	}
	return cmd.Val(), nil
}

// runScript is sc.Run through the batcher: EVALSHA, and EVAL when Redis lost the script (a
// restart, SCRIPT FLUSH).
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, "evalsha", sc.Hash(), len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	cmd := redis.NewCmd(ctx, a...)
	first := "" // a script without keys (none on this path today) runs anywhere
	if len(keys) > 0 {
		first = keys[0]
	}
	if err := s.batch.forKey(ctx, first).process(ctx, cmd); err != nil {
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			return sc.Eval(ctx, s.rdb, keys, args...)
		}
		failed := redis.NewCmd(ctx) // cmd may still be in a pipeline: not returned
		failed.SetErr(err)
		return failed
	}
	return cmd
}
