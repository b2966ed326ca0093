// Package storetest is the contract every backend of session.Backend passes: the memory store
// (internal/store) and Redis (internal/redisstore, one server and a Cluster) run the same
// scenarios and must give the same answers. A backend's tests call RunAll with an Each that
// runs a scenario once per configuration it has. A new backend plugs in the same way; a new
// operation gets its scenarios here, in the file of its topic.
//
// It also holds the short forms of the backend's operations the tests use (positional
// arguments, no deadline), so that no backend carries test-only methods.
package storetest

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Backend is what the scenarios run against: what the server calls.
type Backend = session.Backend

// noDL is the deadline of the scenarios' calls: none (the Deadlines scenario sets them).
const noDL = session.NoDeadline

// Env is one scenario's backend.
type Env struct {
	// Open returns another instance over the same data (for Redis, a second sidecar sharing the
	// server, the secret and the key prefix; for memory, the same store).
	Open func() Backend
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

// SessionCreate is S_CREATE with the common options as arguments.
func SessionCreate(s Backend, sb, data []byte, ttlMs, idleMs uint64, userID, meta []byte) (session.CreateResult, error) {
	return s.SessionCreate(noDL, sb, data, session.CreateOptions{TTLMs: ttlMs, IdleMs: idleMs, UserID: userID, Meta: meta})
}

// SessionResolve is S_RESOLVE without a binding check or a CSRF token.
func SessionResolve(s Backend, sb, token []byte, rotate bool, graceMs, minRotateMs uint64, dst []byte) (session.ResolveResult, error) {
	return s.SessionResolve(noDL, sb, token, session.ResolveOptions{Rotate: rotate, GraceMs: graceMs, MinRotateMs: minRotateMs}, dst)
}

// SessionUpdate is S_UPDATE with the default grace window.
func SessionUpdate(s Backend, sb, token, data []byte) (int64, bool, error) {
	return s.SessionUpdate(noDL, sb, token, data, session.DefaultGraceMs)
}

// SessionRevoke is S_REVOKE, telling only whether a session was revoked.
func SessionRevoke(s Backend, sb, token []byte) (bool, error) {
	_, existed, err := s.SessionRevoke(noDL, sb, token)
	return existed, err
}

// SessionRevokeAll is S_REVOKE_ALL, telling only how many sessions it revoked.
func SessionRevokeAll(s Backend, sb, userID, except []byte) (uint32, error) {
	ids, err := s.SessionRevokeAll(noDL, sb, userID, except)
	return uint32(len(ids)), err
}

func MustCreate(t testing.TB, s Backend, sb []byte, data string, ttl, idle uint64, user string) session.CreateResult {
	t.Helper()
	res, err := SessionCreate(s, sb, []byte(data), ttl, idle, []byte(user), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// CreateWith creates a session with o, for 60 s unless o says otherwise.
func CreateWith(t testing.TB, s Backend, sb []byte, data string, o session.CreateOptions) session.CreateResult {
	t.Helper()
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	res, err := s.SessionCreate(noDL, sb, []byte(data), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func Resolve(t testing.TB, s Backend, sb []byte, token []byte, rotate bool, grace uint64) session.ResolveResult {
	t.Helper()
	res, err := SessionResolve(s, sb, token, rotate, grace, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ResolveWith resolves with o, with a 2 s grace unless o says otherwise.
func ResolveWith(t testing.TB, s Backend, sb, token []byte, o session.ResolveOptions) session.ResolveResult {
	t.Helper()
	if o.GraceMs == 0 {
		o.GraceMs = 2000
	}
	res, err := s.SessionResolve(noDL, sb, token, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
