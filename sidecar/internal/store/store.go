// Package store keeps the sidecar's records: KV entries and sessions, per sandbox, sealed with
// the sandbox's keys and indexed only by keyed hashes. It owns expiry (a per-shard heap plus a
// check on every read) and the session rotation state machine. See docs/sidecar-internals.md.
package store

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Limits of docs/protocol.md.
const (
	MaxTTLMs            = 432_000_000 // 5 days: the cap of every TTL, counted from creation
	MaxKeySize          = 1024
	DefaultMaxValueSize = 64 << 10
	MaxGraceMs          = 60_000
	DefaultGraceMs      = 2_000 // grace window S_UPDATE accepts for a superseded token
	MaxScanLimit        = 1000
	maxSandboxName      = 64
)

// Clock tells the time in Unix milliseconds. Tests inject a fake one.
type Clock interface{ NowMs() int64 }

// SystemClock is Unix time in milliseconds that never goes backwards: the wall clock read once
// at start, advanced by the monotonic clock, so a wall-clock step cannot expire or revive records.
type SystemClock struct{ start time.Time }

// NewSystemClock returns a SystemClock starting now.
func NewSystemClock() SystemClock { return SystemClock{start: time.Now()} }

// NowMs returns the current time in Unix milliseconds.
func (c SystemClock) NowMs() int64 {
	if c.start.IsZero() {
		return time.Now().UnixMilli()
	}
	return c.start.UnixMilli() + time.Since(c.start).Milliseconds()
}

// Options configure a Store.
type Options struct {
	Master       *crypto.Master
	Clock        Clock        // default SystemClock
	MaxValueSize int          // default DefaultMaxValueSize
	Logger       *slog.Logger // default: discard
	// OnSessionExpired, if set, is told the public id of every session removed because it
	// expired (by a read or by the expirer). It is called with a shard lock held: it must be
	// quick and must not call back into the store.
	OnSessionExpired func(sandbox string, sessionID *crypto.Digest)
}

// Store holds every sandbox. All methods are safe for concurrent use.
type Store struct {
	clock    Clock
	base     int64 // time origin of the expiry heaps
	master   *crypto.Master
	maxValue int
	log      *slog.Logger

	mu        sync.RWMutex
	sandboxes map[string]*sandbox

	rotations  atomic.Uint64
	reuse      atomic.Uint64
	expired    atomic.Uint64
	revoked    atomic.Uint64
	evicted    atomic.Uint64 // sessions ended by the evict-oldest limit policy
	mismatches atomic.Uint64 // binding mismatches detected (every action)

	onExpired func(sandbox string, sessionID *crypto.Digest)

	journal Journal // the vault, when persistence is on (SetJournal); see persist.go
}

// New returns an empty store.
func New(o Options) *Store {
	if o.Clock == nil {
		o.Clock = NewSystemClock()
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = DefaultMaxValueSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{clock: o.Clock, base: o.Clock.NowMs(), master: o.Master, maxValue: o.MaxValueSize, log: o.Logger,
		sandboxes: make(map[string]*sandbox), onExpired: o.OnSessionExpired}
}

// sessionExpired counts a session removed because it expired and reports it. Caller holds
// the session's shard lock.
func (s *Store) sessionExpired(sb *sandbox, k *key) {
	s.expired.Add(1)
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

// ValidSandboxName reports whether name matches ^[A-Za-z0-9._:-]{1,64}$.
func ValidSandboxName(name []byte) bool {
	if len(name) == 0 || len(name) > maxSandboxName {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func errSandbox() error {
	return xerr.New(xerr.InvalidSandbox, "sandbox name must match ^[A-Za-z0-9._:-]{1,64}$")
}

// sandboxFor returns the sandbox named name, creating it (and deriving its keys) when create is
// set. Reads of a sandbox that was never written return nil without creating it.
func (s *Store) sandboxFor(name []byte, create bool) (*sandbox, error) {
	if !ValidSandboxName(name) {
		return nil, errSandbox()
	}
	s.mu.RLock()
	sb := s.sandboxes[string(name)]
	s.mu.RUnlock()
	if sb != nil || !create {
		return sb, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb = s.sandboxes[string(name)]; sb != nil {
		return sb, nil
	}
	keys, err := s.master.Derive(string(name))
	if err != nil {
		return nil, xerr.New(xerr.Internal, "key derivation failed")
	}
	sb = newSandbox(string(name), keys, s.base)
	sb.onExpired = s.onExpired
	sb.journal = s.journal
	s.sandboxes[sb.name] = sb
	return sb, nil
}

func (s *Store) allSandboxes() []*sandbox {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*sandbox, 0, len(s.sandboxes))
	for _, sb := range s.sandboxes {
		out = append(out, sb)
	}
	return out
}

func checkTTL(ttl uint64, what string) error {
	if ttl == 0 || ttl > MaxTTLMs {
		return xerr.New(xerr.InvalidTTL, "%s must be 1..%d ms (5 days)", what, MaxTTLMs)
	}
	return nil
}

func (s *Store) checkValue(v []byte, what string) error {
	if len(v) > s.maxValue {
		return xerr.New(xerr.ValueTooLarge, "%s is %d bytes, over maxValueSize %d", what, len(v), s.maxValue)
	}
	return nil
}

func checkKey(k []byte) error {
	if len(k) == 0 {
		return xerr.New(xerr.BadRequest, "key must not be empty")
	}
	if len(k) > MaxKeySize {
		return xerr.New(xerr.KeyTooLarge, "key is %d bytes, over the limit of %d", len(k), MaxKeySize)
	}
	return nil
}

// SandboxStats are the record counts and sealed bytes of one sandbox.
type SandboxStats struct {
	KV       int   `json:"kv"`
	Sessions int   `json:"sessions"`
	Bytes    int64 `json:"bytes"`
}

// Stats are the store-wide counters.
type Stats struct {
	Sandboxes         map[string]SandboxStats
	Rotations         uint64
	ReuseDetected     uint64
	Expired           uint64
	Revoked           uint64
	Evicted           uint64
	BindingMismatches uint64
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	st := Stats{Sandboxes: map[string]SandboxStats{},
		Rotations: s.rotations.Load(), ReuseDetected: s.reuse.Load(),
		Expired: s.expired.Load(), Revoked: s.revoked.Load(),
		Evicted: s.evicted.Load(), BindingMismatches: s.mismatches.Load()}
	for _, sb := range s.allSandboxes() {
		var ss SandboxStats
		for i := range sb.shards {
			sh := &sb.shards[i]
			sh.mu.Lock()
			ss.KV += len(sh.kv)
			ss.Sessions += len(sh.sess)
			ss.Bytes += sh.bytes
			sh.mu.Unlock()
		}
		st.Sandboxes[sb.name] = ss
	}
	return st
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
