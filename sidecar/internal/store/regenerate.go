package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionRegenerate replaces the session of a token it accepts (session.Verdict.Accepted) by a
// new session (new sid, hence a new token, a new public id and a new CSRF token) for a
// privilege change. The new session keeps everything but the identity: creation time and
// absolute expiry (it never outlives the old one), idle timeout, user, device meta, binding
// and remember-me, and the data when keepData is set (else it holds data). The old session is
// removed before the new one exists: its token and every token it answered for are dead at
// once. With auth (a reauthentication) the new session gets that authentication record,
// else it keeps the old one's.
func (s *Store) SessionRegenerate(dl session.Deadline, sandbox, token []byte, graceMs uint64, keepData bool, data []byte, auth *session.Auth) (session.RegenerateResult, error) {
	res := session.RegenerateResult{Status: session.NotFound}
	if err := session.CheckRegenerate(graceMs, keepData, data, s.maxValue); err != nil {
		return res, err
	}
	if err := session.CheckAuth(auth); err != nil {
		return res, err
	}
	var f found
	if ok, err := s.locateLive(sandbox, token, graceMs, &f); !ok {
		return res, err
	}
	if f.st.Flags&session.FlagUser != 0 {
		// A user's sessions are added under the user's limit lock, taken before any shard lock:
		// let go, take it, and look the token up again (it may have changed meanwhile).
		u, sb := f.st.User, f.sb
		f.release()
		lock := sb.limitLock(&u)
		lock.Lock()
		defer lock.Unlock()
		if ok, err := s.locateLive(sandbox, token, graceMs, &f); !ok {
			return res, err
		}
	}
	if dl.Passed(f.now) {
		f.release()
		return res, session.ErrDeadline()
	}
	sb, st := f.sb, f.st
	plain, oldData, meta, err := openSession(sb.keys, &f.k, f.rec().sealed(), nil)
	if err != nil {
		f.release()
		return res, err
	}
	defer clear(plain[:cap(plain)])
	if keepData {
		data = oldData
	}
	meta, st.Auth = splitAuth(st.Flags, meta)
	st.SetAuth(auth)
	res.OldID = f.k
	c := sb.track(f.sh, kindSess, &f.k)
	sb.removeSession(f.sh, &f.k, f.l)
	if err := c.commit(); err != nil {
		f.release()
		return session.RegenerateResult{Status: session.NotFound}, err
	}
	f.sh.afterFree()
	f.release()

	// The old session is gone: the new one is inserted whatever the deadline.
	n, err := s.newSession(session.NoDeadline, sb, &st, data, withAuth(&st, meta))
	if err != nil {
		return session.RegenerateResult{Status: session.NotFound, OldID: res.OldID}, err
	}
	return session.RegenerateResult{Status: session.OK, Token: n.token, SessionID: n.k, ExpiresAt: n.expiresAt,
		CSRF: n.csrf, Flags: st.ReplyFlags(), OldID: res.OldID, Auth: st.Auth}, nil
}

// locateLive locates the session of a token it accepts (which must verify) into f. ok: the
// shard is locked and the caller must call release.
func (s *Store) locateLive(sandbox, token []byte, graceMs uint64, f *found) (ok bool, err error) {
	if ok, err = s.locate(sandbox, token, f); !ok {
		return false, err
	}
	if !f.classify(graceMs).Accepted() {
		f.release()
		return false, nil
	}
	return true, nil
}
