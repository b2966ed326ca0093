package redisstore

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// pipeline sends the commands of concurrent resolves in shared writes: while at least `min`
// resolves of this Store are in flight, their read and script calls go through go-redis's
// auto-pipeliner (its deferred face), which writes the commands queued meanwhile in one write
// on one connection and reads their replies in one read; one resolve alone keeps the plain
// client, since a hop through the pipeliner's flusher goroutine doubles its CPU and latency
// (bench/FINDINGS.md). Each caller still waits at most its own context: WaitContext returns at
// its deadline; the command may still run after that, like one whose reply was lost, and a
// script that writes refuses it once the request's deadline has passed (scripts.go). Standalone
// servers only (nil on a Cluster).
type pipeline struct {
	ap       *redis.AutoPipeliner
	min      int32
	inflight atomic.Int32
}

// pipelineMin is how many resolves must be in flight for their commands to be pipelined.
const pipelineMin = 4

func newPipeline(rdb client) *pipeline {
	p := &pipeline{min: pipelineMin}
	if c, ok := rdb.(*redis.Client); ok {
		if ap, err := c.AsyncAutoPipeline(); err == nil {
			p.ap = ap
		}
	}
	return p
}

// enter and leave bracket a resolve.
func (p *pipeline) enter() { p.inflight.Add(1) }
func (p *pipeline) leave() { p.inflight.Add(-1) }

func (p *pipeline) active() bool { return p.ap != nil && p.inflight.Load() >= p.min }

// submit runs cmd through the pipeliner and waits for it, at most until ctx is done. On an
// error cmd must not be read (its batch may still be filling it in).
func (p *pipeline) submit(ctx context.Context, cmd redis.Cmder) error {
	return p.ap.Submit(ctx, cmd).WaitContext(ctx)
}

// hmget is HMGET key fields..., pipelined while enough resolves are in flight.
func (s *Store) hmget(ctx context.Context, key string, fields ...string) ([]any, error) {
	if !s.pipe.active() {
		return s.rdb.HMGet(ctx, key, fields...).Result()
	}
	args := make([]any, 0, 2+len(fields))
	args = append(args, "hmget", key)
	for _, f := range fields {
		args = append(args, f)
	}
	cmd := redis.NewSliceCmd(ctx, args...)
	if err := s.pipe.submit(ctx, cmd); err != nil {
		return nil, err
	}
	return cmd.Val(), nil
}

// runScript is sc.Run, pipelined while enough resolves are in flight (a server that lost its
// scripts, NOSCRIPT, gets the script on the plain client, which loads it).
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	if !s.pipe.active() {
		return sc.Run(ctx, s.rdb, keys, args...)
	}
	all := make([]any, 0, 3+len(keys)+len(args))
	all = append(all, "evalsha", sc.Hash(), len(keys))
	for _, k := range keys {
		all = append(all, k)
	}
	all = append(all, args...)
	cmd := redis.NewCmd(ctx, all...)
	if err := s.pipe.submit(ctx, cmd); err != nil {
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			return sc.Run(ctx, s.rdb, keys, args...)
		}
		out := redis.NewCmd(ctx)
		out.SetErr(err)
		return out
	}
	return cmd
}
