package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// SessionCreate starts a session with every S_CREATE option. With a user, the whole operation
// (counting the user's live sessions, evicting or refusing, inserting) runs under that user's
// limit lock, so concurrent logins of one user never exceed MaxPerUser.
func (s *Store) SessionCreate(dl session.Deadline, sandbox, data []byte, o session.CreateOptions) (session.CreateResult, error) {
	var res session.CreateResult
	if err := o.Check(data, s.maxValue); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox, true)
	if err != nil {
		return res, err
	}
	st := session.NewState(sb.keys, &o, s.clock.NowMs())
	if st.Flags&session.FlagUser != 0 {
		lock := sb.limitLock(&st.User)
		lock.Lock()
		defer lock.Unlock()
		if dl.Passed(s.clock.NowMs()) {
			return res, session.ErrDeadline() // before evicting anyone
		}
		if o.MaxPerUser > 0 {
			if res.Evicted, err = s.enforceLimit(sb, &st.User, o.MaxPerUser, o.OnLimit); err != nil {
				return res, err
			}
		}
	}
	n, err := s.newSession(dl, sb, &st, data, withAuth(&st, o.Meta))
	if err != nil {
		return session.CreateResult{Evicted: res.Evicted}, err
	}
	res.Token, res.SessionID, res.ExpiresAt, res.CSRF = n.token, n.k, n.expiresAt, n.csrf
	return res, nil
}

// started is a session newSession started.
type started struct {
	token     [crypto.TokenLength]byte
	k         key
	expiresAt int64
	csrf      key
}

// newSession starts a session of st's properties (its creation time and absolute expiry
// included) with a fresh token at generation 0, data and meta, unless dl has passed once the
// new record's shard is locked: S_CREATE, and the new half of S_REGENERATE.
func (s *Store) newSession(dl session.Deadline, sb *sandbox, st *session.State, data, meta []byte) (started, error) {
	t, k, sh, err := sb.lockNewSession()
	if err != nil {
		return started{}, err
	}
	defer t.Wipe()
	defer sh.mu.Unlock()
	now := s.clock.NowMs()
	if dl.Passed(now) {
		return started{}, session.ErrDeadline()
	}
	st.Start(sb.keys, &t, now)
	r, err := sb.insertSession(sh, &k, st, now, data, meta)
	if err != nil {
		return started{}, err
	}
	n := started{k: k, expiresAt: r.expiresAt(), csrf: sb.keys.CSRFToken(&t.SID)}
	t.AppendEncoded(n.token[:0])
	return n, nil
}

// insertSession writes a new session record for st with data and meta and makes it live
// (map entry, byte count, expiry schedule, per-user index), journaled. Every path that creates
// a session record (S_CREATE, S_REGENERATE) goes through here. Caller holds sh.mu.
func (sb *sandbox) insertSession(sh *shard, k *key, st *session.State, lastSeen int64, data, meta []byte) (sessRec, error) {
	c := sb.track(sh, kindSess, k)
	l, rb := sh.mem.alloc(sessRecSize(st.Flags, data, meta), kindSess, k)
	r := sessRec(rb)
	r.initState(st)
	r.setAt(sLastSeen, lastSeen)
	if err := sealSession(sb.keys, k, r, data, meta); err != nil {
		sh.mem.release(l)
		return nil, err
	}
	if st.Device != nil {
		if err := sh.setDevice(sb.keys, k, r, st.Device); err != nil {
			sh.mem.release(l)
			return nil, err
		}
	}
	sb.link(sh, k, l)
	if err := c.commit(); err != nil {
		return nil, err
	}
	return sessRec(sh.mem.rec(l)), nil
}

// link makes the fully written and sealed session record at l live: map entry, byte count,
// expiry schedule, per-user index (a vault load installs records through here too). Caller
// holds sh.mu.
func (sb *sandbox) link(sh *shard, k *key, l uint64) {
	r := sessRec(sh.mem.rec(l))
	sh.sess[*k] = l
	sh.bytes += int64(len(r.sealed()))
	sb.schedule(sh, r, sSched, r.expiresAt(), k, kindSess, true)
	sh.notePeaks()
	if r.hasUser() {
		u := r.user()
		sb.indexAdd(&u, k)
	}
}

// lockNewSession draws a fresh token and locks the shard its session id falls in, refusing the
// (astronomically unlikely) case of a 128-bit id that is already taken rather than overwriting
// it. On success the caller owns sh.mu and must unlock it and wipe t.
func (sb *sandbox) lockNewSession() (t crypto.Token, k key, sh *shard, err error) {
	t, err = crypto.NewToken()
	if err != nil {
		return t, k, nil, xerr.New(xerr.Internal, "random source failed")
	}
	k = sb.keys.SIDKey(&t.SID)
	sh = sb.shard(&k)
	sh.mu.Lock()
	if _, exists := sh.sess[k]; exists {
		sh.mu.Unlock()
		t.Wipe()
		return t, k, nil, xerr.New(xerr.Internal, "session id collision, retry")
	}
	return t, k, sh, nil
}
