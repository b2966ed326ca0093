package session

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// PeekResult is what S_PEEK and S_PEEK_ID reply: the live session as it is. A peek changes
// nothing: it is not a presentation (no first-presentation time, no rotation, no last seen,
// no idle slide) and it never decides reuse, so a WebSocket that checks its session while
// HTTP requests of the same client rotate the token can never revoke it.
type PeekResult struct {
	Status    Status // OK, NotFound or Mismatched (never Reused: a token that would be reuse is NotFound)
	SessionID key
	ExpiresAt int64
	Out       []byte // the caller's dst extended by the data (OK only)
	Data      []byte // the data: the tail of Out
	Flags     uint8  // SessionFlag* bits
	// DeviceDeadline is the proof deadline of a device-bound session (0: not bound): a socket
	// held open must be re-checked then, or a thief's idle socket would outlive it.
	DeviceDeadline int64
	// Mismatch: MismatchIP / MismatchAgent bits of a failed binding check (Mismatched, or OK
	// with the log action).
	Mismatch uint8
}

// PeekOptions are what S_PEEK checks besides the token: the grace window and, when asked,
// the client's binding. S_PEEK_ID checks no binding (its socket passed it at the handshake).
type PeekOptions struct {
	GraceMs      uint64
	CheckBinding bool
	OnMismatch   MismatchAction // revoke acts as reject: a peek never ends a session
	IP           []byte
	UserAgent    []byte
}

// Check refuses options out of range: a grace over MaxGraceMs, an unknown mismatch action.
func (o *PeekOptions) Check() error {
	if err := CheckGrace(o.GraceMs); err != nil {
		return err
	}
	if o.CheckBinding && o.OnMismatch > MismatchLog {
		return xerr.New(xerr.BadRequest, "onMismatch must be 0 (revoke), 1 (reject) or 2 (log)")
	}
	return nil
}

// PeekDecide is the rule of S_PEEK and S_PEEK_ID on a live session the peek found (a token
// Classify accepted, or a public id), the same checks as Decide's steps 2 and 3 in the same
// order, and it changes nothing whatever they find:
//
//  1. the binding, if asked: a mismatch refuses (Mismatched) with the revoke and reject
//     actions alike, since a socket must never be able to end a session (the same reason a
//     peek never decides reuse); the log action accepts and reports the mismatch bits;
//  2. a device-bound session at or past its proof deadline is refused (DeviceOverdue): a
//     cookie copied off the device must not open a socket when it no longer opens a page.
//
// The outcome never has Remove, Changed or Rotated set.
func PeekDecide(keys *crypto.SandboxKeys, st *State, o *PeekOptions, now int64) Outcome {
	return screen(keys, st, o.CheckBinding, o.PeekAction(), o.IP, o.UserAgent, now)
}

// PeekAction is the mismatch action a peek applied, for the log line and the counters: a
// revoke asked of a peek was a rejection.
func (o *PeekOptions) PeekAction() MismatchAction {
	if o.OnMismatch == MismatchRevoke {
		return MismatchReject
	}
	return o.OnMismatch
}

// Peeker is the read-only lookup of sessions the WebSocket transport uses (issue 15): by a
// token at the handshake, by the public session id for every later message. Backends
// implement it beside Backend; both apply PeekDecide to what they found.
type Peeker interface {
	// SessionPeek answers for a token Classify accepts with o.GraceMs (the current token, its
	// unclaimed predecessor, or one in grace); any other token is NotFound and changes nothing.
	// A session PeekDecide refuses as DeviceOverdue is the error ErrDeviceOverdue.
	SessionPeek(sandbox, token []byte, o PeekOptions, dst []byte) (PeekResult, error)
	// SessionPeekID answers for the public id (crypto.EncodeID) of a live session, with
	// PeekDecide's device check (no binding).
	SessionPeekID(sandbox, sessionID []byte, dst []byte) (PeekResult, error)
}
