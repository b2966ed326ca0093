package store

import (
	"cmp"
	"slices"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// enforceLimit makes room for one more session of user u: it counts the user's live sessions
// (removing expired ones it meets) and, if there are max or more, refuses (LimitReject) or ends
// the oldest ones until max-1 remain (LimitEvictOldest), returning the ids of those ended.
// Caller holds the user's limit lock, so no session of u can be added meanwhile; sessions may
// still end concurrently (logout, expiry), which only leaves more room.
func (s *Store) enforceLimit(sb *sandbox, u *key, max uint32, policy session.LimitPolicy) ([]key, error) {
	type live struct {
		k       key
		created int64
	}
	var sessions []live
	for _, k := range sb.indexList(u) {
		if created, ok := s.liveCreatedAt(sb, &k, u); ok {
			sessions = append(sessions, live{k, created})
		}
	}
	if uint32(len(sessions)) < max {
		return nil, nil
	}
	if policy == session.LimitReject {
		return nil, xerr.New(xerr.LimitReached, "the user already has %d live sessions in this sandbox (maxSessionsPerUser %d)", len(sessions), max)
	}
	slices.SortFunc(sessions, func(a, b live) int {
		if c := cmp.Compare(a.created, b.created); c != 0 {
			return c
		}
		return slices.Compare(a.k[:], b.k[:])
	})
	var evicted []key
	for i := 0; uint32(len(sessions)-i) >= max; i++ {
		// S_CREATE checked its deadline before calling: the evictions and the insertion are
		// one step for the caller.
		if ok, _ := s.revokeKey(session.NoDeadline, sb, &sessions[i].k, u, &s.m.Evicted); ok {
			evicted = append(evicted, sessions[i].k)
		}
	}
	return evicted, nil
}

// liveCreatedAt returns the creation time of the live session k of user u, removing it if it
// has expired.
func (s *Store) liveCreatedAt(sb *sandbox, k, u *key) (int64, bool) {
	sh := sb.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l, ok := sh.sess[*k]
	if !ok {
		return 0, false
	}
	r := sessRec(sh.mem.rec(l))
	if !r.hasUser() || r.user() != *u {
		return 0, false
	}
	if r.expiresAt() <= s.clock.NowMs() {
		sb.removeSession(sh, k, l)
		sh.afterFree()
		s.sessionExpired(sb, k)
		return 0, false
	}
	return r.created(), true
}
