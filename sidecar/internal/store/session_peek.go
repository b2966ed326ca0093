package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionPeek answers S_PEEK: the session of a token session.Classify accepts with graceMs,
// read under the record's shard lock and changed in nothing (session.PeekResult).
func (s *Store) SessionPeek(sandbox, token []byte, graceMs uint64, dst []byte) (session.PeekResult, error) {
	res := session.PeekResult{Status: session.NotFound}
	if err := session.CheckGrace(graceMs); err != nil {
		return res, err
	}
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return res, err
	}
	defer f.release()
	if !f.classify(graceMs).Accepted() {
		return res, nil
	}
	return f.peek(dst)
}

// SessionPeekID answers S_PEEK_ID: the live session with this public id, changed in nothing.
func (s *Store) SessionPeekID(sandbox, sessionID []byte, dst []byte) (session.PeekResult, error) {
	res := session.PeekResult{Status: session.NotFound}
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return res, err
	}
	k, ok := crypto.DecodeID(sessionID)
	if !ok {
		return res, nil
	}
	f := found{sb: sb, k: k, sh: sb.shard(&k)}
	f.sh.mu.Lock()
	defer f.release()
	f.now = s.clock.NowMs()
	if f.l, ok = f.sh.sess[f.k]; !ok {
		return res, nil
	}
	r := f.rec()
	if r.expiresAt() <= f.now {
		sb.removeSession(f.sh, &f.k, f.l)
		s.sessionExpired(sb, &f.k)
		return res, nil
	}
	var hist []uint32
	if r.flags()&flagHist != 0 {
		hist = f.sh.hist[f.k]
	}
	r.state(&f.st, hist)
	return f.peek(dst)
}

// peek is the reply for a located live session: its id, expiry, flags and data.
func (f *found) peek(dst []byte) (session.PeekResult, error) {
	r := f.rec()
	out, _, err := f.open(r, dst)
	if err != nil {
		return session.PeekResult{Status: session.NotFound}, err
	}
	return session.PeekResult{Status: session.OK, SessionID: f.k, ExpiresAt: r.expiresAt(), Out: out, Data: out[len(dst):], Flags: f.st.ReplyFlags()}, nil
}
