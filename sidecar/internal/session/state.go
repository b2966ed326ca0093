package session

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"

// State is a session as the rules see it: its fixed properties and its rotation state. Each
// backend keeps it in its own layout (the memory store in the record's plaintext header and a
// per-shard history map, Redis sealed in the session hash's field h) and hands it to the rules;
// the data, meta and last-seen time stay with the backend. Times are Unix ms.
type State struct {
	Flags    uint8 // Flag* bits
	Gen      uint32
	Verifier crypto.Digest // of the current generation's token
	Created  int64
	Issued   int64 // when Gen was issued
	// Presented is when the current generation was first presented to S_RESOLVE, 0 while it
	// never was: until then its predecessor is not a copy (its holder never got the successor).
	Presented int64
	// PrevPresented is when generation Gen-1 was first presented (Gen >= 1).
	PrevPresented int64
	// Older are the first presentations of Gen-2, Gen-3, ... (ms after Created), oldest first
	// (the last one is Gen-2's), as long as they are recent enough to matter to a grace window
	// (MaxGraceMs) and at most MaxOlder of them. Most sessions have none.
	Older   []uint32
	AbsExp  int64         // absolute expiry
	IdleMs  uint32        // idle timeout, 0 = none
	User    crypto.Digest // FlagUser: the keyed hash of the user id
	BoundIP crypto.Digest // FlagBindIP: the keyed hash of the bound address
	BoundUA crypto.Digest // FlagBindUA: the keyed hash of the bound user agent
	Auth    Auth          // FlagAuth: when and how the user last authenticated (auth.go)
	Device  *Device       // device binding (DBSC, device.go); nil: none asked for
}

// Flags of a session (State.Flags): fixed when it is created, kept by a regeneration.
const (
	FlagUser uint8 = 1 // it belongs to a user (State.User) and is in that user's index
	// Bit 2 (value 2) is left to the backends: the memory store marks a record that has an
	// entry in its shard's history map with it.
	FlagBindIP     uint8 = 4  // bound to the client's address (State.BoundIP)
	FlagBindUA     uint8 = 8  // bound to the client's user agent (State.BoundUA)
	FlagBindSubnet uint8 = 16 // the address hash is of the /24 (IPv4) or /64 (IPv6) prefix
	FlagRemember   uint8 = 32 // remember-me: the client keeps a persistent cookie
	// FlagAuth (128) is in auth.go.
	// AllFlags are all the bits above.
	AllFlags = FlagUser | FlagBindIP | FlagBindUA | FlagBindSubnet | FlagRemember | FlagAuth
)

// NewState is the state of a session S_CREATE is about to start at time now: its properties
// from o (the user id and the client's address and user agent only as keyed hashes), no token
// yet (see Start).
func NewState(keys *crypto.SandboxKeys, o *CreateOptions, now int64) State {
	st := State{Created: now, AbsExp: now + int64(o.TTLMs), IdleMs: uint32(o.IdleMs)}
	if o.Remember {
		st.Flags |= FlagRemember
	}
	if len(o.UserID) > 0 {
		st.Flags |= FlagUser
		st.User = keys.UserKey(o.UserID)
	}
	st.bind(keys, o.Bind, o.IP, o.UserAgent)
	st.SetAuth(o.Auth)
	return st
}

// Start makes t, a fresh token (generation 0), the session's current token at time now, with
// no history: a new session, or the new identity S_REGENERATE gives a session (which keeps its
// creation time, absolute expiry and properties).
func (st *State) Start(keys *crypto.SandboxKeys, t *crypto.Token, now int64) {
	st.Gen = t.Gen
	st.Verifier = keys.Verifier(t)
	st.Issued = now
	st.Presented, st.PrevPresented, st.Older = 0, 0, nil
}

// ExpiresAt is the effective expiry for a last-seen time: the absolute one, or the idle
// deadline if earlier.
func (st *State) ExpiresAt(lastSeen int64) int64 {
	e := st.AbsExp
	if st.IdleMs > 0 {
		if d := lastSeen + int64(st.IdleMs); d < e {
			e = d
		}
	}
	return e
}

// ReplyFlags are the SessionFlag* bits resolve and regenerate report.
func (st *State) ReplyFlags() uint8 {
	var f uint8
	if st.Flags&FlagRemember != 0 {
		f |= SessionFlagRemember
	}
	if st.IdleMs > 0 {
		f |= SessionFlagIdle
	}
	if st.Bound() {
		f |= SessionFlagDeviceBound
	}
	return f
}
