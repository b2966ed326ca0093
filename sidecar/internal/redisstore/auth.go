package redisstore

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"

// The authentication record (session.Auth) of a session with session.FlagAuth is an optional
// part at the very end of its sealed header (field h), after the history: at i64, methods u32.
// A header without the flag (every header written before it existed) ends with the history,
// as before, and reads as a session without one.

// authSize is the size of st's authentication part in the header.
func authSize(st *session.State) int {
	if st.Flags&session.FlagAuth == 0 {
		return 0
	}
	return session.AuthSize
}

// encodeAuth writes st's authentication part into b (authSize(st) bytes).
func encodeAuth(st *session.State, b []byte) {
	if st.Flags&session.FlagAuth != 0 {
		session.AppendAuth(b[:0], st.Auth)
	}
}

// decodeAuth reads the authentication part from the rest of the header, which must be exactly
// that part.
func decodeAuth(st *session.State, rest []byte) bool {
	if st.Flags&session.FlagAuth == 0 {
		return len(rest) == 0
	}
	if len(rest) != session.AuthSize {
		return false
	}
	st.Auth, _ = session.DecodeAuth(rest)
	return true
}
