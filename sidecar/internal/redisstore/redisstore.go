// Package redisstore is the sidecar's shared store: the KV and session operations of
// internal/store with the same semantics, kept in Redis or Valkey (one server, or a Redis
// Cluster) so that several sidecars (one per application instance) serve the same sessions.
//
// Only ciphertext, keyed hashes and times reach Redis: key names are built from keyed hashes
// (HMAC-SHA256 under the sandbox's hash key), every value, session data, device meta, rotation
// state and last-seen time is sealed with AES-256-GCM by the sidecar before it is sent, and
// tokens never leave the sidecar (Redis holds their keyed-hash verifiers inside the sealed
// header). Every instance derives the same keys from the shared secret and the deployment
// identity (keys.go). See docs/sidecar-internals.md ("Redis store").
package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

type key = crypto.Digest

var b64 = base64.RawURLEncoding

// Options configure a Store.
type Options struct {
	Conn         ConnConfig
	Keys         *Keys  // from DeriveKeys; its master is copied (the caller wipes its own)
	KeyPrefix    string // default DefaultKeyPrefix
	Clock        session.Clock
	MaxValueSize int
	Logger       *slog.Logger
	// OnSessionExpired, if set, is told the public id of a session this store found expired
	// on a read (and removed). Redis removes most expired sessions by itself, unseen.
	OnSessionExpired func(sandbox string, sessionID *crypto.Digest)
}

// Store is the Redis-backed store: a storage adapter around internal/session, like the memory
// store (internal/store), with the same semantics (internal/storetest checks it). Each session
// operation reads the session's state, lets the session rules decide, and commits the outcome
// with a compare-and-set script on the sealed header. Safe for concurrent use.
type Store struct {
	rdb       client
	cluster   bool
	master    *crypto.Master
	check     []byte // the key check value (keys.go)
	prefix    string
	clock     session.Clock
	maxValue  int
	timeout   time.Duration
	m         *session.Metrics
	br        *breaker
	ready     atomic.Bool
	checkMu   sync.Mutex
	mismatch  atomic.Bool // a deferred key check failed: logged once (logMismatch)
	deferred  atomic.Bool // the key check failed at least once (Redis unreachable at start-up)
	expiredCB func(sandbox string, sessionID *crypto.Digest)

	sandboxes *session.Sandboxes[sandbox]
	bus       *endedBus // ended.go
	recent    *recent   // recent.go
	batch     *batchers // batch.go
}

var _ session.Backend = (*Store)(nil)

// New builds the store. It does not contact Redis (see Check).
func New(o Options) (*Store, error) {
	if o.Keys == nil || len(o.Keys.Master) != crypto.KeySize {
		return nil, errors.New("redisstore: keys are required")
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if !ValidKeyPrefix(o.KeyPrefix) {
		return nil, errors.New("keyPrefix must match ^[A-Za-z0-9._:-]{0,64}$ (no braces: they would put every key in one Cluster hash slot)")
	}
	if o.Clock == nil {
		o.Clock = session.NewSystemClock()
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = session.DefaultMaxValueSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Conn.Timeout <= 0 {
		o.Conn.Timeout = time.Second
	}
	logger := o.Logger
	setClientLog.Do(func() { redis.SetLogger(clientLog{logger}) })
	rdb, cluster, err := connect(o.Conn)
	if err != nil {
		return nil, err
	}
	master, err := crypto.NewMaster(o.Keys.Master)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	sandboxes := session.NewSandboxes(master, func(name string, keys *crypto.SandboxKeys) *sandbox {
		l := keys.Label()
		return &sandbox{name: name, keys: keys, label: b64.EncodeToString(l[:12])}
	})
	return &Store{rdb: rdb, cluster: cluster, master: master, check: o.Keys.checkValue(), prefix: o.KeyPrefix,
		clock: o.Clock, maxValue: o.MaxValueSize, timeout: o.Conn.Timeout, m: session.NewMetrics(o.Logger), br: newBreaker(o.Logger),
		sandboxes: sandboxes, expiredCB: o.OnSessionExpired, bus: newEndedBus(o.Logger), recent: newRecent(),
		batch: newBatchers(rdb, o.Conn.Timeout)}, nil
}

// Close closes the connections and wipes the keys.
func (s *Store) Close() {
	s.bus.stopWatching()
	s.rdb.Close()
	s.master.Wipe()
}

// Cluster reports whether the store talks to a Redis Cluster.
func (s *Store) Cluster() bool { return s.cluster }

// MaxValueSize is the configured limit for values, session data and meta.
func (s *Store) MaxValueSize() int { return s.maxValue }

// --- keys in Redis ---------------------------------------------------------------------------
//
//	<prefix>keycheck                          the key check values (keys.go)
//	<prefix><label>:k:<kv key hash>            a KV record
//	<prefix><label>:{bb}:s:<session id>        a session
//	<prefix><label>:{bb}:u:<user hash>         a user's index: a sorted set of session ids
//
// <label> is the sandbox's keyed label (16 base64url characters), hashes and ids are 22
// base64url characters, and {bb} is the Cluster hash tag: two hex digits, the first byte of
// the session id. A user's sessions are all created with ids whose first byte is the first
// byte of the user's hash (a new session id is drawn until it is: newToken), so a session, its
// user's index and the user's other sessions share one hash slot, and every script that
// touches several of them runs on one node. 256 tags spread sessions over the cluster's nodes.

type sandbox struct {
	name  string
	keys  *crypto.SandboxKeys
	label string
}

func (s *Store) sandboxFor(name []byte) (*sandbox, error) { return s.sandboxes.Get(name, true) }

func (s *Store) kvKey(sb *sandbox, k *key) string {
	return s.prefix + sb.label + ":k:" + b64.EncodeToString(k[:])
}

func (s *Store) bucketPrefix(sb *sandbox, bucket byte, kind string) string {
	return s.prefix + sb.label + ":{" + hex.EncodeToString([]byte{bucket}) + "}:" + kind + ":"
}

func (s *Store) sessKey(sb *sandbox, k *key) string {
	return s.bucketPrefix(sb, k[0], "s") + crypto.EncodeID(k)
}

func (s *Store) userKey(sb *sandbox, u *key) string {
	return s.bucketPrefix(sb, u[0], "u") + b64.EncodeToString(u[:])
}

// --- running an operation --------------------------------------------------------------------

// do runs one store operation against Redis under the breaker and the operation timeout, and
// turns an outage into ERROR UNAVAILABLE and any other unexpected failure into INTERNAL.
func (s *Store) do(fn func(ctx context.Context) error) error {
	probe, err := s.br.allow()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err = s.ensureReady(ctx)
	if err == nil {
		err = fn(ctx)
	} else {
		s.logMismatch(err)
	}
	s.br.done(probe, err)
	return s.wrap(err)
}

// logMismatch writes one error line when the key check, deferred because Redis was unreachable
// at start-up, finds another secret or identity: every request of this instance is refused
// (the module answers 503) until it is restarted with the deployment's.
func (s *Store) logMismatch(err error) {
	var xe *xerr.Error
	if !errors.As(err, &xe) || (xe.Code != xerr.StoreWrongSecret && xe.Code != xerr.StoreWrongIdentity) {
		return
	}
	if s.mismatch.CompareAndSwap(false, true) {
		s.m.Log.Error("this instance cannot read the shared store: every request is refused until it is restarted with the deployment's settings", "error", xe.Error())
	}
}

func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return xe
	}
	if isDeadline(err) {
		return session.ErrDeadline()
	}
	if cause, down := availabilityFailure(err); down {
		return unavailable("Redis cannot answer (" + cause + "); retry shortly")
	}
	// A reply Redis should never give (a script error): logged without arguments.
	s.m.Log.Error("unexpected reply from Redis", "error", err.Error())
	return xerr.New(xerr.Internal, "unexpected reply from Redis (logged by the sidecar)")
}

// isDeadline reports whether err is a script's refusal of a passed deadline (Redis may put
// "ERR " before the script's message).
func isDeadline(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.Contains(re.Error(), deadlineReply)
}

// ensureReady runs the key check once Redis answers (see Check).
func (s *Store) ensureReady(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	if err := s.keyCheck(ctx); err != nil {
		s.deferred.Store(true)
		return err
	}
	s.ready.Store(true)
	if s.deferred.Load() {
		// The start-up's "not reachable yet" warning gets its answer.
		s.m.Log.Info("Redis is reachable: the store is ready, requests are served")
	}
	return nil
}

// Check contacts Redis now: it loads the scripts and compares this sidecar's key check values
// with those stored by the instances that wrote first. It fails with STORE_WRONG_SECRET or
// STORE_WRONG_IDENTITY when this instance would not read their records, and UNAVAILABLE when
// Redis cannot be reached (the store then checks again before its first request is served).
func (s *Store) Check(ctx context.Context) error {
	err := s.ensureReady(ctx)
	if err == nil {
		err = s.loadScripts(ctx)
	}
	return s.wrap(err)
}

func (s *Store) keyCheck(ctx context.Context) error {
	k := s.prefix + "keycheck"
	for attempt := 0; attempt < 3; attempt++ {
		set, err := s.rdb.SetNX(ctx, k, s.check, 0).Result()
		if err != nil {
			return err
		}
		if set {
			return nil
		}
		got, err := s.rdb.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // removed meanwhile: set it again
		}
		if err != nil {
			return err
		}
		switch {
		case len(got) != len(s.check):
			return xerr.New(xerr.StoreWrongSecret, "the key %skeycheck in Redis was not written by nestjs-xems: use another keyPrefix", s.prefix)
		case string(got[:checkSize]) != string(s.check[:checkSize]):
			return xerr.New(xerr.StoreWrongSecret, "the records in Redis under the key prefix %q were written with another shared secret: give every instance the same persistence.secret (or use another keyPrefix)", s.prefix)
		case string(got[checkSize:]) != string(s.check[checkSize:]):
			return xerr.New(xerr.StoreWrongIdentity, "the records in Redis under the key prefix %q were written with another hardwareBinding id: give every instance the same hardwareBinding { id } (or use another keyPrefix)", s.prefix)
		}
		return nil
	}
	return xerr.New(xerr.Internal, "the key check in Redis keeps disappearing")
}

// loadScripts loads every script on every master, so the first EVALSHA of each finds it.
func (s *Store) loadScripts(ctx context.Context) error {
	nodes, err := s.masters(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		for _, sc := range allScripts {
			if err := sc.Load(ctx, n).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- stats -------------------------------------------------------------------------------------

// Stats returns this sidecar's counters. Record counts per sandbox would need a scan of the
// whole keyspace, so Sandboxes is empty; Redis's own INFO keyspace has the totals.
func (s *Store) Stats() session.Stats { return s.m.Stats(map[string]session.SandboxStats{}) }

// Ping checks that Redis answers (UNAVAILABLE when it does not), for health checks.
func (s *Store) Ping() error {
	return s.do(func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() })
}

// Available reports whether the breaker lets requests through (false while Redis is down).
func (s *Store) Available() bool { return !s.br.isOpen() }
