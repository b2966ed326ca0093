package session

// PeekResult is what S_PEEK and S_PEEK_ID reply: the live session as it is. A peek changes
// nothing: it is not a presentation (no first-presentation time, no rotation, no last seen,
// no idle slide) and it never decides reuse, so a WebSocket that checks its session while
// HTTP requests of the same client rotate the token can never revoke it.
type PeekResult struct {
	Status    Status // OK or NotFound (never Reused: a token that would be reuse is NotFound)
	SessionID key
	ExpiresAt int64
	Out       []byte // the caller's dst extended by the data (OK only)
	Data      []byte // the data: the tail of Out
	Flags     uint8  // SessionFlag* bits
}

// Peeker is the read-only lookup of sessions the WebSocket transport uses (issue 15): by a
// token at the handshake, by the public session id for every later message. Backends
// implement it beside Backend.
type Peeker interface {
	// SessionPeek answers for a token Classify accepts with graceMs (the current token, its
	// unclaimed predecessor, or one in grace); any other token is NotFound and changes nothing.
	SessionPeek(sandbox, token []byte, graceMs uint64, dst []byte) (PeekResult, error)
	// SessionPeekID answers for the public id (crypto.EncodeID) of a live session.
	SessionPeekID(sandbox, sessionID []byte, dst []byte) (PeekResult, error)
}
