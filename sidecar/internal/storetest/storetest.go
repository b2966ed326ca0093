// Package storetest holds the scenarios every session and KV backend must pass: the memory store
// (internal/store) and Redis (internal/redisstore) run the same calls and expect the same answers.
// Each backend's tests call the scenarios with an Each that runs a scenario once per backend
// configuration it has (for Redis: one server and a cluster).
package storetest

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Backend is what the server calls (store.Backend) plus the shorter forms the scenarios use:
// *store.Store and *redisstore.Store both implement it.
type Backend interface {
	store.Backend
	SessionCreate(sandbox, data []byte, ttlMs, idleMs uint64, userID, meta []byte) (store.CreateResult, error)
	SessionResolve(sandbox, token []byte, rotate bool, graceMs, minRotateMs uint64, dst []byte) (store.ResolveResult, error)
	SessionUpdate(sandbox, token, data []byte) (int64, bool, error)
	SessionRevoke(sandbox, token []byte) (bool, error)
	SessionRevokeAll(sandbox, userID, exceptToken []byte) (uint32, error)
}

var _ Backend = (*store.Store)(nil)

// Env is one scenario's backend.
type Env struct {
	// Open returns another instance over the same data (for Redis, a second sidecar sharing the
	// server, the secret and the key prefix; for memory, the same store).
	Open func() Backend
	// GraceCap is how many superseded generations the backend keeps in grace.
	GraceCap int
	// Goroutines is how many concurrent resolves ConcurrentRotation races (200 if 0): the
	// memory store takes many more than a network round trip per call allows in a test.
	Goroutines int
	// IndexSize, when set, counts the entries of a sandbox's per-user index (memory store only):
	// the scenarios then also check that the index is cleaned.
	IndexSize func(sandbox []byte) int
	// CheckIndex, when set, checks a sandbox's per-user index against its records.
	CheckIndex func(t testing.TB, sandbox []byte)
}

// Each runs a scenario once per backend configuration, each with its own fake clock and store.
type Each func(t *testing.T, f func(t *testing.T, e *Env, s Backend, clock *FakeClock))

// FakeClock is an injected clock the tests move by hand, only forward.
type FakeClock struct{ ms atomic.Int64 }

// NewFakeClock starts a clock at startMs.
func NewFakeClock(startMs int64) *FakeClock {
	c := &FakeClock{}
	c.ms.Store(startMs)
	return c
}

func (c *FakeClock) NowMs() int64     { return c.ms.Load() }
func (c *FakeClock) Advance(ms int64) { c.ms.Add(ms) }

var (
	sbA = []byte("sessions")
	sbB = []byte("other")
)

// ErrCode is the xerr code of err, 0 if it is not an *xerr.Error.
func ErrCode(err error) xerr.Code {
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return xe.Code
	}
	return 0
}

func MustCreate(t testing.TB, s Backend, sb []byte, data string, ttl, idle uint64, user string) store.CreateResult {
	t.Helper()
	res, err := s.SessionCreate(sb, []byte(data), ttl, idle, []byte(user), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// CreateWith creates a session with o, for 60 s unless o says otherwise.
func CreateWith(t testing.TB, s Backend, sb []byte, data string, o store.CreateOptions) store.CreateResult {
	t.Helper()
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	res, err := s.SessionCreateWith(sb, []byte(data), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func Resolve(t testing.TB, s Backend, sb []byte, token []byte, rotate bool, grace uint64) store.ResolveResult {
	t.Helper()
	res, err := s.SessionResolve(sb, token, rotate, grace, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ResolveWith resolves with o, with a 2 s grace unless o says otherwise.
func ResolveWith(t testing.TB, s Backend, sb, token []byte, o store.ResolveOptions) store.ResolveResult {
	t.Helper()
	if o.GraceMs == 0 {
		o.GraceMs = 2000
	}
	res, err := s.SessionResolveWith(sb, token, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
