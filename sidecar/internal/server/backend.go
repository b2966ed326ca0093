package server

import (
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/logging"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redisstore"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// backend is the store the handlers call: the in-memory store (internal/store, the default
// and the fast path) or the shared Redis store (internal/redisstore), chosen by CONFIGURE's
// "store" field.
type backend = session.Backend

var (
	_ backend = (*store.Store)(nil)
	_ backend = (*redisstore.Store)(nil)
)

// CONFIGURE's "store" field: {"type":"memory"} (the default) or {"type":"redis", "url": ...}
// / {"type":"redis", "cluster": [...]}, with "keyPrefix" and "timeoutMs"; and two secrets,
// "storeSecret" (32 bytes, the same on every instance) and "storeIdentity" (the deployment's
// identity, hardwareBinding { id }; absent = unbound). See docs/protocol.md ("Redis store").
const (
	secretStore         = "storeSecret"
	secretStoreIdentity = "storeIdentity"
)

// redisWorkers is the number of workers with the Redis store: each request waits for Redis
// round trips, so more of them run at once than CPU-bound in-memory requests need.
const redisWorkers = 64

// redisGCPercent: with the Redis store the sidecar keeps no records, only a small cache and the
// requests' short-lived garbage, so the memory store's GOGC of 10 (cmd/xems-sidecar) would
// collect a heap of a few MiB every few hundred kilobytes allocated: about 15 % of the sidecar's
// CPU under HTTP load, 4.5 % at 100 (pprof, bench/FINDINGS.md, H). Go's default suits this heap.
const redisGCPercent = 100

// redisCheckTimeout bounds the first contact with Redis during CONFIGURE.
const redisCheckTimeout = 2 * time.Second

type storeJSON struct {
	Type      *string  `json:"type"`
	URL       *string  `json:"url"`
	Cluster   []string `json:"cluster"`
	KeyPrefix *string  `json:"keyPrefix"`
	TimeoutMs *int64   `json:"timeoutMs"`
}

// redisConfig is a valid "store" of type redis with its secrets.
type redisConfig struct {
	Conn      redisstore.ConnConfig
	KeyPrefix string
	Secret    []byte // copies: the request frame is wiped after CONFIGURE
	Identity  []byte // nil: unbound
}

// storeInfo is the "store" object of effectiveConfigJson: never a URL (it may hold a password).
type storeInfo struct {
	Type      string   `json:"type"`
	Mode      string   `json:"mode"`
	Endpoints []string `json:"endpoints"`
	KeyPrefix string   `json:"keyPrefix"`
	Bound     bool     `json:"bound"`
	Reachable bool     `json:"reachable"`
}

func parseStore(sj *storeJSON) (*redisConfig, error) {
	typ := "memory"
	if sj.Type != nil {
		typ = *sj.Type
	}
	switch typ {
	case "memory":
		if sj.URL != nil || sj.Cluster != nil || sj.KeyPrefix != nil || sj.TimeoutMs != nil {
			return nil, xerr.New(xerr.BadRequest, "CONFIGURE: store.url, cluster, keyPrefix and timeoutMs need store.type \"redis\"")
		}
		return nil, nil
	case "redis":
	default:
		return nil, xerr.New(xerr.BadRequest, "CONFIGURE: store.type must be \"memory\" or \"redis\"")
	}
	r := &redisConfig{KeyPrefix: redisstore.DefaultKeyPrefix, Conn: redisstore.ConnConfig{Timeout: time.Second}}
	if sj.URL != nil {
		r.Conn.URL = *sj.URL
	}
	r.Conn.Cluster = sj.Cluster
	if sj.KeyPrefix != nil {
		if !redisstore.ValidKeyPrefix(*sj.KeyPrefix) {
			return nil, xerr.New(xerr.BadRequest, "CONFIGURE: store.keyPrefix must match ^[A-Za-z0-9._:-]{0,64}$ (no braces)")
		}
		r.KeyPrefix = *sj.KeyPrefix
	}
	if sj.TimeoutMs != nil {
		if *sj.TimeoutMs < 10 || *sj.TimeoutMs > 60_000 {
			return nil, xerr.New(xerr.BadRequest, "CONFIGURE: store.timeoutMs must be 10..60000")
		}
		r.Conn.Timeout = time.Duration(*sj.TimeoutMs) * time.Millisecond
	}
	if (r.Conn.URL == "") == (len(r.Conn.Cluster) == 0) {
		return nil, xerr.New(xerr.BadRequest, "CONFIGURE: store of type redis needs exactly one of url and cluster")
	}
	return r, nil
}

// storeSecretParam records one of the two store secrets (checkStore checks the combination).
func storeSecretParam(c *config, name string, value []byte) error {
	if c.Redis == nil {
		return xerr.New(xerr.BadRequest, "CONFIGURE: secret %q needs store.type \"redis\" in configJson", name)
	}
	switch name {
	case secretStore:
		secret, err := exactSecret(name, value, redisstore.SecretSize)
		if err != nil {
			return err
		}
		c.Redis.Secret = secret
	case secretStoreIdentity:
		identity, err := identitySecret(name, value, redisstore.MaxIdentity)
		if err != nil {
			return err
		}
		c.Redis.Identity = identity
	}
	return nil
}

func checkStore(c *config) error {
	if c.Redis == nil {
		return nil
	}
	switch {
	case c.Redis.Secret == nil:
		return xerr.New(xerr.BadRequest, "CONFIGURE: store of type redis needs the secret storeSecret (every instance derives the same keys from it)")
	case c.Persist != nil:
		return xerr.New(xerr.BadRequest, "CONFIGURE: persistence cannot be combined with store of type redis (Redis keeps the records; its RDB/AOF files are the persistence)")
	case c.MasterKey != nil:
		return xerr.New(xerr.BadRequest, "CONFIGURE: masterKey cannot be combined with store of type redis (the key derives from storeSecret)")
	}
	return nil
}

// configureRedis finishes a CONFIGURE whose store is Redis: it derives the keys, builds the
// store and contacts Redis once. A wrong secret or identity (the records already in Redis
// were written with others) refuses the CONFIGURE; an unreachable Redis does not (requests get
// UNAVAILABLE until it answers, and the check runs then).
func (s *Server) configureRedis(id uint32, cfg config) []byte {
	rc := cfg.Redis
	keys, err := redisstore.DeriveKeys(rc.Secret, rc.Identity)
	clear(rc.Secret)
	clear(rc.Identity)
	if err != nil {
		return protocol.ErrorReply(id, xerr.BadRequest, "CONFIGURE: "+err.Error())
	}
	var rs *redisstore.Store
	var note func(string, *crypto.Digest)
	if cfg.ExpiryEvents {
		s.expired = newExpiredReporter(s.send, cfg.MaxFrameSize)
		note = s.expired.note
	}
	// An expiry found on a read is also announced to the other instances (ended.go).
	onExpired := func(sandbox string, id *crypto.Digest) {
		if note != nil {
			note(sandbox, id)
		}
		rs.PublishEnded([]byte(sandbox), protocol.EndedExpired, []crypto.Digest{*id})
	}
	rs, err = redisstore.New(redisstore.Options{Conn: rc.Conn, Keys: keys, KeyPrefix: rc.KeyPrefix, Clock: s.clock,
		MaxValueSize: cfg.MaxValueSize, Logger: s.log, OnSessionExpired: onExpired})
	clear(keys.Master)
	if err != nil {
		s.abortExpired()
		return protocol.ErrorReply(id, xerr.BadRequest, "CONFIGURE: store: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(redisCheckTimeout, rc.Conn.Timeout*2))
	err = rs.Check(ctx)
	cancel()
	reachable := err == nil
	if err != nil {
		if code := errorCode(err); code != xerr.Unavailable {
			rs.Close()
			s.abortExpired()
			return errorReply(id, err)
		}
		s.log.Warn("Redis is not reachable yet: requests answer UNAVAILABLE until it is", "endpoints", rc.Conn.Endpoints(), "error", err.Error())
	}
	s.level.Set(cfg.LogLevel)
	s.cfg = cfg
	s.maxFrame = cfg.MaxFrameSize
	s.redis = rs
	s.backend = rs
	if cfg.EndedEvents {
		rs.WatchEnded(s.reportEnded)
	}
	debug.SetGCPercent(redisGCPercent)
	for i := workerCount(); i < redisWorkers; i++ {
		go s.worker()
	}
	procs := runtime.GOMAXPROCS(0)
	if s.limitProcs {
		procs = limitRedisProcs()
	}
	s.configured.Store(true)
	mode := "standalone"
	if rs.Cluster() {
		mode = "cluster"
	}
	info := &storeInfo{Type: "redis", Mode: mode, Endpoints: rc.Conn.Endpoints(), KeyPrefix: rc.KeyPrefix, Bound: rc.Identity != nil, Reachable: reachable}
	eff, _ := json.Marshal(effectiveConfig{
		ProtocolVersion: protocol.Version, BuildVersion: s.build,
		MaxFrameSize: cfg.MaxFrameSize, MaxValueSize: cfg.MaxValueSize,
		LogLevel: logging.LevelName(cfg.LogLevel), MasterKey: "shared",
		MaxKeySize: session.MaxKeySize, MaxTTLMs: session.MaxTTLMs, MaxGraceMs: session.MaxGraceMs,
		MaxScanLimit: session.MaxScanLimit, Store: info,
	})
	s.log.Info("configured", "maxFrameSize", cfg.MaxFrameSize, "maxValueSize", cfg.MaxValueSize, "store", "redis",
		"mode", mode, "endpoints", info.Endpoints, "keyPrefix", rc.KeyPrefix, "reachable", reachable, "procs", procs)
	b := protocol.BeginReply(nil, id, protocol.StatusOK)
	b = protocol.AppendStrBytes(b, eff)
	return protocol.FinishFrame(b, 0)
}

func (s *Server) abortExpired() {
	if s.expired != nil {
		s.expired.abort()
		s.expired = nil
	}
}

func errorCode(err error) xerr.Code {
	if xe, ok := err.(*xerr.Error); ok {
		return xe.Code
	}
	return xerr.Internal
}
