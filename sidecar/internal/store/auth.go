package store

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"

// The authentication record (session.Auth) of a session with session.FlagAuth is kept sealed:
// it is the last session.AuthSize bytes of the sealed meta (data || meta || auth || u32
// len(meta || auth)). A record without the flag (every record written before it existed) has
// none, and its meta is read as before. The record is fixed when the session is created
// (S_CREATE, S_REGENERATE); S_UPDATE re-seals the meta with it unchanged.

// withAuth is the meta to seal for a session of state st: meta, followed by st's
// authentication record when it has one.
func withAuth(st *session.State, meta []byte) []byte {
	if st.Flags&session.FlagAuth == 0 {
		return meta
	}
	out := make([]byte, 0, len(meta)+session.AuthSize)
	return session.AppendAuth(append(out, meta...), st.Auth)
}

// splitAuth splits the sealed meta of a record with these flags into the application's meta
// and the authentication record (zero when it has none).
func splitAuth(flags uint8, sealed []byte) ([]byte, session.Auth) {
	if flags&session.FlagAuth == 0 || len(sealed) < session.AuthSize {
		return sealed, session.Auth{}
	}
	n := len(sealed) - session.AuthSize
	a, _ := session.DecodeAuth(sealed[n:])
	return sealed[:n], a
}
