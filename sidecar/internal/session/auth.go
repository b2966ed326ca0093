package session

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Auth is how and when the user of a session last authenticated: set by S_CREATE (a login)
// and by S_REGENERATE with its auth extension (a reauthentication), kept by everything else.
// The rules that use it (how fresh a route needs it, the reauthentication ceilings) are request
// policy and live in the module (src/auth-freshness.ts): the sidecar keeps the facts, sealed.
type Auth struct {
	At      int64  // Unix ms of the authentication, as the application's clock saw it
	Methods uint32 // AuthMethod* bits (scripts/protocol-table.js, flagSets.authMethods)
}

// FlagAuth marks a session with an authentication record (State.Auth). Each backend keeps the
// record sealed, as an optional part at the end of its encoding (AuthSize bytes), so records
// written before it load as sessions without one.
const FlagAuth uint8 = 128

// AuthSize is the size of an encoded Auth: at i64, methods u32 (little-endian).
const AuthSize = 12

// AppendAuth appends the encoding of a to b.
func AppendAuth(b []byte, a Auth) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(a.At))
	return binary.LittleEndian.AppendUint32(b, a.Methods)
}

// DecodeAuth reads an Auth from the first AuthSize bytes of b (false if too short).
func DecodeAuth(b []byte) (Auth, bool) {
	if len(b) < AuthSize {
		return Auth{}, false
	}
	return Auth{At: int64(binary.LittleEndian.Uint64(b)), Methods: binary.LittleEndian.Uint32(b[8:])}, true
}

// CheckAuth refuses an authentication time that cannot be one (not positive).
func CheckAuth(a *Auth) error {
	if a != nil && a.At <= 0 {
		return xerr.New(xerr.BadRequest, "authAt must be a positive Unix time in ms")
	}
	return nil
}

// SetAuth records a (nil: none) in st.
func (st *State) SetAuth(a *Auth) {
	if a == nil {
		return
	}
	st.Flags |= FlagAuth
	st.Auth = *a
}
