package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionRevokeSandbox ends every session of a sandbox and its user indexes; KV records stay.
// Like CLEAR it visits every master (a cluster's too) with SCAN in batches of 1000 keys and
// unlinks the session and index keys of each batch in one pipeline, so no script runs long and
// Redis stays responsive; a session created while it runs may survive it. The deadline is
// checked once, by Redis's clock, before it starts. It returns how many sessions it ended.
func (s *Store) SessionRevokeSandbox(dl session.Deadline, sandbox []byte) (uint64, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return 0, err
	}
	base := len(s.prefix) + len(sb.label)
	// Session and index keys are the bucketed ones: <prefix><label>:{bb}:s:… and :{bb}:u:….
	removed, err := s.unlinkMatching(dl, sb, s.prefix+sb.label+":{*", func(k string) bool {
		return len(k) > base+7 && (k[base+5:base+8] == ":s:" || k[base+5:base+8] == ":u:")
	})
	if err != nil {
		return 0, err
	}
	s.m.Revoked.Add(removed)
	return removed, nil
}

// SessionRevokeOthers ends every session of the user of token's session but that one (see the
// memory store's): one script on the user's index, which shares the sessions' hash slot.
func (s *Store) SessionRevokeOthers(dl session.Deadline, sandbox, token []byte) ([]key, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return nil, err
	}
	var ids []key
	err = s.do(func(ctx context.Context) error {
		x, t, ok, err := s.locate(ctx, sb, token, false, false)
		if !ok || err != nil {
			return err
		}
		valid := x.classify(&t, session.MaxGraceMs) != session.Invalid
		t.Wipe()
		if !valid || x.st.Flags&session.FlagUser == 0 {
			return nil
		}
		u := x.st.User
		removed, err := scriptRevokeAll.Run(ctx, s.rdb, []string{s.userKey(sb, &u)}, s.bucketPrefix(sb, u[0], "s"),
			crypto.EncodeID(&x.k), ms(int64(dl))).StringSlice()
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
