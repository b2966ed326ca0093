package store

import (
	"sync/atomic"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionRevoke revokes the session of any of its tokens: the current one, one it answers for,
// or an older one (session.Classify with MaxGraceMs: anything but Invalid; an older token
// proves itself by its sid). Logging out with an old cookie therefore still logs out. It
// returns the revoked session's id.
func (s *Store) SessionRevoke(dl session.Deadline, sandbox, token []byte) (key, bool, error) {
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return key{}, false, err
	}
	defer f.release()
	if f.classify(session.MaxGraceMs) == session.Invalid {
		return key{}, false, nil
	}
	if dl.Passed(f.now) {
		return key{}, false, session.ErrDeadline()
	}
	c := f.sb.track(f.sh, kindSess, &f.k)
	f.sb.removeSession(f.sh, &f.k, f.l)
	if err := c.commit(); err != nil {
		return key{}, false, err
	}
	s.m.Revoked.Add(1)
	return f.k, true, nil
}

// SessionRevokeID revokes a session by its public id.
func (s *Store) SessionRevokeID(dl session.Deadline, sandbox, sessionID []byte) (bool, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return false, err
	}
	k, ok := crypto.DecodeID(sessionID)
	if !ok {
		return false, nil
	}
	return s.revokeKey(dl, sb, &k, nil, &s.m.Revoked)
}

// revokeKey removes the session stored under k, if live and (when user is set) owned by user,
// and counts it in counter (revoked or evicted). An expired one is removed and counted as
// expired instead. A removal the vault could not write leaves the session alone (the error).
func (s *Store) revokeKey(dl session.Deadline, sb *sandbox, k *key, user *key, counter *atomic.Uint64) (bool, error) {
	sh := sb.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l, ok := sh.sess[*k]
	if !ok {
		return false, nil
	}
	r := sessRec(sh.mem.rec(l))
	if user != nil && (!r.hasUser() || r.user() != *user) {
		return false, nil
	}
	now := s.clock.NowMs()
	expired := r.expiresAt() <= now
	if !expired && dl.Passed(now) {
		return false, session.ErrDeadline()
	}
	c := sb.track(sh, kindSess, k)
	sb.removeSession(sh, k, l)
	if err := c.commit(); err != nil {
		return false, err
	}
	sh.afterFree()
	if expired {
		s.sessionExpired(sb, k)
		return false, nil
	}
	counter.Add(1)
	return true, nil
}

// SessionList returns the live sessions of a user, oldest first.
func (s *Store) SessionList(sandbox, userID []byte) ([]session.SessionInfo, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	var out []session.SessionInfo
	for _, k := range sb.indexList(&u) {
		info, ok, err := s.sessionInfo(sb, &k, &u)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, info)
		}
	}
	session.SortInfos(out)
	return out, nil
}

func (s *Store) sessionInfo(sb *sandbox, k, u *key) (session.SessionInfo, bool, error) {
	sh := sb.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l, ok := sh.sess[*k]
	if !ok {
		return session.SessionInfo{}, false, nil
	}
	r := sessRec(sh.mem.rec(l))
	if !r.hasUser() || r.user() != *u || r.expiresAt() <= s.clock.NowMs() {
		return session.SessionInfo{}, false, nil
	}
	_, data, meta, err := openSession(sb.keys, k, r.sealed(), nil)
	if err != nil {
		return session.SessionInfo{}, false, err
	}
	clear(data)
	meta, auth := splitAuth(r.flags(), meta)
	return session.SessionInfo{SessionID: *k, CreatedAt: r.created(), LastSeenAt: r.lastSeen(), ExpiresAt: r.expiresAt(), Meta: meta, Auth: auth,
		Device: sh.deviceBound(sb.keys, k, r)}, true, nil
}

// SessionRevokeAll revokes every session of a user except the one `except` names: a token of
// it (any generation SessionRevoke would accept) or its public session id. It returns the ids
// of the sessions revoked.
func (s *Store) SessionRevokeAll(dl session.Deadline, sandbox, userID, except []byte) ([]key, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	keep, hasKeep := s.keptSession(sandbox, except)
	var ids []key
	for _, k := range sb.indexList(&u) {
		if hasKeep && k == keep {
			continue
		}
		revoked, err := s.revokeKey(dl, sb, &k, &u, &s.m.Revoked)
		if err != nil {
			return ids, err
		}
		if revoked {
			ids = append(ids, k)
		}
	}
	return ids, nil
}

// keptSession returns the key of the session `except` (a token or a public session id) names.
func (s *Store) keptSession(sandbox, except []byte) (key, bool) {
	if len(except) == crypto.IDLength {
		return crypto.DecodeID(except)
	}
	if len(except) == 0 {
		return key{}, false
	}
	var f found
	if ok, _ := s.locate(sandbox, except, &f); !ok {
		return key{}, false
	}
	defer f.release()
	return f.k, f.classify(session.MaxGraceMs) != session.Invalid
}
