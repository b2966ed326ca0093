// Package store is the sidecar's memory store: KV records and sessions, per sandbox, sealed with
// the sandbox's keys and indexed only by keyed hashes, in a pointer-free arena per shard. It is
// a storage adapter around internal/session: each operation locks the record's shard, reads
// the record, lets the session rules decide, and applies the outcome (journaled when
// persistence is on) before unlocking. It owns expiry (a per-shard heap plus a check on every
// read) and the per-user index. See docs/sidecar-internals.md.
package store

import (
	"log/slog"
	"sync"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// Options configure a Store.
type Options struct {
	Master       *crypto.Master
	Clock        session.Clock // default session.SystemClock
	MaxValueSize int           // default session.DefaultMaxValueSize
	Logger       *slog.Logger  // default: discard
	// OnSessionExpired, if set, is told the public id of every session removed because it
	// expired (by a read or by the expirer). It is called with a shard lock held: it must be
	// quick and must not call back into the store.
	OnSessionExpired func(sandbox string, sessionID *crypto.Digest)
}

// Store holds every sandbox. All methods are safe for concurrent use.
type Store struct {
	clock    session.Clock
	base     int64 // time origin of the expiry heaps
	master   *crypto.Master
	maxValue int
	m        *session.Metrics

	sandboxes *session.Sandboxes[sandbox]

	onExpired func(sandbox string, sessionID *crypto.Digest)

	journal Journal // the vault, when persistence is on (SetJournal); see persist.go
}

var _ session.Backend = (*Store)(nil)

// New returns an empty store.
func New(o Options) *Store {
	if o.Clock == nil {
		o.Clock = session.NewSystemClock()
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = session.DefaultMaxValueSize
	}
	s := &Store{clock: o.Clock, base: o.Clock.NowMs(), master: o.Master, maxValue: o.MaxValueSize,
		m: session.NewMetrics(o.Logger), onExpired: o.OnSessionExpired}
	s.sandboxes = session.NewSandboxes(o.Master, func(name string, keys *crypto.SandboxKeys) *sandbox {
		sb := newSandbox(name, keys, s.base)
		sb.onExpired = s.onExpired
		sb.journal = s.journal // made under the set's lock, which SetJournal takes too
		return sb
	})
	return s
}

// sessionExpired counts a session removed because it expired and reports it. Caller holds
// the session's shard lock.
func (s *Store) sessionExpired(sb *sandbox, k *key) {
	s.m.Expired.Add(1)
	reportExpired(s.onExpired, sb.name, *k)
}

// reportExpired calls fn with a copy of the id: handing the callback a pointer into the
// caller's variables would move them to the heap on every call, expiring or not.
func reportExpired(fn func(string, *crypto.Digest), sandbox string, id key) {
	if fn != nil {
		fn(sandbox, &id)
	}
}

// MaxValueSize is the configured limit for values, session data and meta.
func (s *Store) MaxValueSize() int { return s.maxValue }

// sandboxFor returns the sandbox named name, creating it (and deriving its keys) when create is
// set. Reads of a sandbox that was never written return nil without creating it.
func (s *Store) sandboxFor(name []byte, create bool) (*sandbox, error) {
	return s.sandboxes.Get(name, create)
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() session.Stats {
	sandboxes := map[string]session.SandboxStats{}
	for _, sb := range s.sandboxes.All() {
		var ss session.SandboxStats
		for i := range sb.shards {
			sh := &sb.shards[i]
			sh.mu.Lock()
			ss.KV += len(sh.kv)
			ss.Sessions += len(sh.sess)
			ss.Bytes += sh.bytes
			sh.mu.Unlock()
		}
		sandboxes[sb.name] = ss
	}
	return s.m.Stats(sandboxes)
}

// StartExpirer removes expired records every interval until the returned stop function is
// called. stop waits for a sweep in progress to finish.
func (s *Store) StartExpirer(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.Expire()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// Close stops nothing by itself (the expirer is stopped by its own stop function) but wipes
// every key: after Close, operations that need keys fail.
func (s *Store) Close() { s.master.Wipe() }
