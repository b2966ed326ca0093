package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionPeek answers S_PEEK: the session of a token session.Classify accepts with
// o.GraceMs and session.PeekDecide lets through, read under the record's shard lock and
// changed in nothing (session.PeekResult).
func (s *Store) SessionPeek(sandbox, token []byte, o session.PeekOptions, dst []byte) (session.PeekResult, error) {
	res := session.PeekResult{Status: session.NotFound}
	if err := o.Check(); err != nil {
		return res, err
	}
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return res, err
	}
	defer f.release()
	if !f.classify(o.GraceMs).Accepted() {
		return res, nil
	}
	return s.peekDecided(&f, &o, dst)
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
	if r.flags()&flagDevice != 0 {
		if err := f.sh.readDevice(f.sb.keys, &f.k, &f.st); err != nil {
			return res, err
		}
	}
	return s.peekDecided(&f, &session.PeekOptions{}, dst)
}

// peekDecided applies session.PeekDecide to a located live session and answers it.
func (s *Store) peekDecided(f *found, o *session.PeekOptions, dst []byte) (session.PeekResult, error) {
	out := session.PeekDecide(f.sb.keys, &f.st, o, f.now)
	res, refused, err := s.m.Peeked(f.sb.name, &f.k, &out, o)
	if refused {
		return res, err
	}
	if res, err = f.peek(dst); err == nil {
		res.Mismatch = out.Mismatch
	}
	return res, err
}

// peek is the reply for a located live session: its id, expiry, flags and data.
func (f *found) peek(dst []byte) (session.PeekResult, error) {
	r := f.rec()
	out, _, err := f.open(r, dst)
	if err != nil {
		return session.PeekResult{Status: session.NotFound}, err
	}
	return session.PeekResult{Status: session.OK, SessionID: f.k, ExpiresAt: r.expiresAt(), Out: out, Data: out[len(dst):], Flags: f.st.ReplyFlags(),
		DeviceDeadline: f.st.DeviceDeadline()}, nil
}
