package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionRevoke revokes the session of any of its tokens (see the memory store's) and returns
// its id.
func (s *Store) SessionRevoke(dl session.Deadline, sandbox, token []byte) (key, bool, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return key{}, false, err
	}
	var id key
	var existed bool
	err = s.do(func(ctx context.Context) error {
		x, t, ok, err := s.locate(ctx, sb, token, false, false)
		if !ok || err != nil {
			return err
		}
		v := x.classify(&t, session.MaxGraceMs)
		t.Wipe()
		if v == session.Invalid {
			return nil
		}
		if existed, err = s.remove(ctx, x, dl); err != nil || !existed {
			return err
		}
		s.m.Revoked.Add(1)
		id = x.k
		return nil
	})
	if err != nil || !existed {
		return key{}, false, err
	}
	return id, true, nil
}

// SessionRevokeID revokes a session by its public id.
func (s *Store) SessionRevokeID(dl session.Deadline, sandbox, sessionID []byte) (bool, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return false, err
	}
	k, ok := crypto.DecodeID(sessionID)
	if !ok {
		return false, nil
	}
	var existed bool
	err = s.do(func(ctx context.Context) error {
		x, ok, err := s.read(ctx, sb, &k, false, false)
		if !ok || err != nil {
			return err
		}
		if existed, err = s.remove(ctx, x, dl); err == nil && existed {
			s.m.Revoked.Add(1)
		}
		return err
	})
	return existed, err
}

// SessionList returns the live sessions of a user, oldest first.
func (s *Store) SessionList(sandbox, userID []byte) ([]session.SessionInfo, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	var out []session.SessionInfo
	err = s.do(func(ctx context.Context) error {
		reply, err := scriptList.Run(ctx, s.rdb, []string{s.userKey(sb, &u)}, s.bucketPrefix(sb, u[0], "s")).StringSlice()
		if err != nil {
			return err
		}
		now := s.clock.NowMs()
		for i := 0; i+3 < len(reply); i += 4 {
			k, ok := crypto.DecodeID([]byte(reply[i]))
			if !ok {
				continue
			}
			st, err := openHeader(sb.keys, &k, reply[i+1])
			if err != nil {
				return err
			}
			seen, err := openTime(sb.keys, &k, reply[i+2])
			if err != nil {
				return err
			}
			if st.Flags&session.FlagUser == 0 || st.User != u || st.ExpiresAt(seen) <= now {
				continue
			}
			var meta []byte
			if reply[i+3] != "" {
				if meta, err = open(sb.keys, kindMeta, &k, reply[i+3], nil); err != nil {
					return err
				}
			}
			out = append(out, session.SessionInfo{SessionID: k, CreatedAt: st.Created, LastSeenAt: seen, ExpiresAt: st.ExpiresAt(seen), Meta: meta, Auth: st.Auth,
				Device: st.Bound()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	session.SortInfos(out)
	return out, nil
}

// SessionRevokeAll revokes every session of a user except the one `except` names (a token of
// it, any generation SessionRevoke accepts, or its public id) and returns the ids revoked.
func (s *Store) SessionRevokeAll(dl session.Deadline, sandbox, userID, except []byte) ([]key, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	var ids []key
	err = s.do(func(ctx context.Context) error {
		keep := ""
		switch {
		case len(except) == crypto.IDLength:
			if _, ok := crypto.DecodeID(except); ok {
				keep = string(except)
			}
		case len(except) > 0:
			x, t, ok, err := s.locate(ctx, sb, except, false, false)
			if err != nil {
				return err
			}
			if ok && x.classify(&t, session.MaxGraceMs) != session.Invalid {
				keep = crypto.EncodeID(&x.k)
			}
			t.Wipe()
		}
		removed, err := scriptRevokeAll.Run(ctx, s.rdb, []string{s.userKey(sb, &u)}, s.bucketPrefix(sb, u[0], "s"), keep, ms(int64(dl))).StringSlice()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, id := range removed {
			if k, ok := crypto.DecodeID([]byte(id)); ok {
				ids = append(ids, k)
				s.m.Revoked.Add(1)
			}
		}
		return nil
	})
	return ids, err
}
