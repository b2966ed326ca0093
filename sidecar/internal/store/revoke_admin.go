package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionRevokeSandbox ends every session of a sandbox ("log everyone out"); KV records stay.
// It runs shard by shard (a session created meanwhile may survive it, as with CLEAR), each
// removal journaled on its own; the deadline is checked once, before the first shard: one that
// has begun runs to the end. It returns how many live sessions it ended.
func (s *Store) SessionRevokeSandbox(dl session.Deadline, sandbox []byte) (uint64, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return 0, err
	}
	if dl.Passed(s.clock.NowMs()) {
		return 0, session.ErrDeadline()
	}
	var n uint64
	var keys []key
	for i := range sb.shards {
		sh := &sb.shards[i]
		sh.mu.Lock()
		keys = keys[:0]
		for k := range sh.sess {
			keys = append(keys, k)
		}
		sh.mu.Unlock()
		for j := range keys {
			revoked, err := s.revokeKey(session.NoDeadline, sb, &keys[j], nil, &s.m.Revoked)
			if err != nil {
				return n, err
			}
			if revoked {
				n++
			}
		}
	}
	return n, nil
}

// SessionRevokeOthers ends every session of the user of token's session but that one (a
// credential change: ASVS asks that the other sessions end). A session without a user has no
// others. It returns the ids revoked.
func (s *Store) SessionRevokeOthers(dl session.Deadline, sandbox, token []byte) ([]key, error) {
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return nil, err
	}
	keep, sb, st := f.k, f.sb, f.st
	valid := f.classify(session.MaxGraceMs) != session.Invalid
	f.release()
	if !valid || st.Flags&session.FlagUser == 0 {
		return nil, nil
	}
	var ids []key
	for _, k := range sb.indexList(&st.User) {
		if k == keep {
			continue
		}
		revoked, err := s.revokeKey(dl, sb, &k, &st.User, &s.m.Revoked)
		if err != nil {
			return ids, err
		}
		if revoked {
			ids = append(ids, k)
		}
	}
	return ids, nil
}
