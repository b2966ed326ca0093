package redisstore

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"

// The authentication record (session.Auth) of a session with session.FlagAuth is an optional
// part of its sealed header (field h) right after the history (before the optional device part,
// device.go): at i64, methods u32.
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

// decodeAuth reads the authentication part at the start of the rest of the header and returns
// what follows it (the optional device part, device.go).
func decodeAuth(st *session.State, rest []byte) ([]byte, bool) {
	if st.Flags&session.FlagAuth == 0 {
		return rest, true
	}
	if len(rest) < session.AuthSize {
		return nil, false
	}
	st.Auth, _ = session.DecodeAuth(rest[:session.AuthSize])
	return rest[session.AuthSize:], true
}
