package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// SessionRegenerate replaces the session of a token it accepts by a new session (new sid,
// token, public id and CSRF token) that keeps everything but the identity (see the memory
// store). The old session's removal and the new one's insertion are one script: the new sid is
// drawn in the old one's bucket, so both are in the same hash slot.
// With auth (a reauthentication) the new session gets that authentication record.
func (s *Store) SessionRegenerate(dl session.Deadline, sandbox, token []byte, graceMs uint64, keepData bool, data []byte, auth *session.Auth) (session.RegenerateResult, error) {
	res := session.RegenerateResult{Status: session.NotFound}
	if err := session.CheckRegenerate(graceMs, keepData, data, s.maxValue); err != nil {
		return res, err
	}
	if err := session.CheckAuth(auth); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			x, ok, err := s.locateAccepted(ctx, sb, token, graceMs, keepData, true)
			if !ok || err != nil {
				return err
			}
			retry, err := s.regenerateOnce(ctx, dl, x, keepData, data, auth, &res)
			if err != nil || !retry {
				return err
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the regenerate; retry")
	})
	if err != nil {
		return session.RegenerateResult{Status: session.NotFound}, err
	}
	return res, nil
}

func (s *Store) regenerateOnce(ctx context.Context, dl session.Deadline, x *sess, keepData bool, data []byte, auth *session.Auth, res *session.RegenerateResult) (retry bool, err error) {
	sb := x.sb
	if keepData {
		plain, err := open(sb.keys, kindData, &x.k, x.data, nil)
		if err != nil {
			return false, err
		}
		defer clear(plain)
		data = plain
	}
	var meta []byte
	if x.meta != "" {
		if meta, err = open(sb.keys, kindMeta, &x.k, x.meta, nil); err != nil {
			return false, err
		}
		defer clear(meta)
	}
	t, k, err := newToken(sb.keys, int(x.k[0]))
	if err != nil {
		return false, err
	}
	defer t.Wipe()
	st := x.st
	st.Start(sb.keys, &t, x.now)
	st.SetAuth(auth)
	f, err := s.sealNew(sb, &k, &st, data, meta, x.now)
	if err != nil {
		return false, err
	}
	keys := []string{x.key, s.sessKey(sb, &k)}
	if st.Flags&session.FlagUser != 0 {
		keys = append(keys, s.userKey(sb, &st.User))
	}
	n, err := scriptRegenerate.Run(ctx, s.rdb, keys, x.rawH, f.h, f.d, f.l, f.m, ms(st.ExpiresAt(x.now)),
		crypto.EncodeID(&x.k), crypto.EncodeID(&k), ms(st.Created), ms(int64(dl))).Int64()
	switch {
	case err != nil:
		return false, err
	case n == -1:
		return true, nil
	case n == 0:
		return false, nil
	case n == -2:
		return false, xerr.New(xerr.Internal, "session id collision, retry")
	}
	s.recent.drop(x.key)
	s.recent.put(keys[1], f.h, f.l)
	*res = session.RegenerateResult{Status: session.OK, SessionID: k, ExpiresAt: st.ExpiresAt(x.now),
		CSRF: sb.keys.CSRFToken(&t.SID), Flags: st.ReplyFlags(), OldID: x.k, Auth: st.Auth}
	t.AppendEncoded(res.Token[:0])
	return false, nil
}
