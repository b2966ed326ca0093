package session

import (
	"cmp"
	"slices"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

type key = crypto.Digest

// Status is the outcome of a session lookup.
type Status uint8

const (
	OK         Status = iota
	NotFound          // absent, expired, malformed or not verifying: indistinguishable to clients
	Reused            // a superseded token presented when it can only be a copy: the session was revoked
	Mismatched        // the client does not match the session's binding (revoke or reject action)
	// DeviceOverdue: a device-bound session past its proof deadline (replied as the error
	// DEVICE_PROOF_OVERDUE; nothing changed).
	DeviceOverdue
)

// CreateResult is what S_CREATE replies.
type CreateResult struct {
	Token     [crypto.TokenLength]byte
	SessionID key
	ExpiresAt int64
	CSRF      key   // the session's CSRF token (crypto.CSRFToken)
	Evicted   []key // sessions of the same user ended by the evict-oldest policy
}

// ResolveResult is what S_RESOLVE replies.
type ResolveResult struct {
	Status    Status
	Token     [crypto.TokenLength]byte // the current token (OK only)
	Rotated   bool
	ExpiresAt int64
	SessionID key
	Out       []byte // the caller's dst extended by the data (OK only)
	Data      []byte // the data: the tail of Out
	Flags     uint8  // SessionFlag* bits (OK only)
	// Mismatch: MismatchIP / MismatchAgent bits of a failed binding check (OK with the log
	// action, or Mismatched).
	Mismatch uint8
	Revoked  bool // Mismatched: the session was revoked (the revoke action)
	CSRF     key  // the session's CSRF token (OK with ResolveOptions.WantCSRF)
	HasCSRF  bool
	Auth     Auth // the authentication record (zero when the session has none)
}

// Session flags reported by resolve and regenerate.
const (
	SessionFlagRemember uint8 = 1 // created with remember-me
	SessionFlagIdle     uint8 = 2 // has an idle timeout (its expiry slides)
)

// RegenerateResult is what S_REGENERATE replies.
type RegenerateResult struct {
	Status    Status // OK or NotFound
	Token     [crypto.TokenLength]byte
	SessionID key
	ExpiresAt int64
	CSRF      key
	Flags     uint8 // SessionFlag* bits
	OldID     key   // the id of the session that was replaced
	Auth      Auth  // the new session's authentication record (zero: none)
}

// SessionInfo is one entry of S_LIST.
type SessionInfo struct {
	SessionID  key
	CreatedAt  int64
	LastSeenAt int64
	ExpiresAt  int64
	Meta       []byte
	Auth       Auth // the authentication record (zero when the session has none)
	Device     bool // bound to a device (DBSC)
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

// SortInfos puts S_LIST's entries in the order every backend replies them: oldest first, ties
// by session id.
func SortInfos(list []SessionInfo) {
	slices.SortFunc(list, func(a, b SessionInfo) int {
		if c := cmp.Compare(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.SessionID[:], b.SessionID[:])
	})
}
