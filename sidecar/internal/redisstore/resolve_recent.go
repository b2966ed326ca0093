package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// resolveRecent is the one-call resolve (recent.go): it decides on the session's fields as this
// Store last read or wrote them (cached) and, when the outcome is OK and must be written,
// commits it and reads the data in one scriptResolve call, whose compare-and-set on h proves
// the decision was taken on the current state. Any other outcome (not found, reuse, a
// mismatch, an overdue device, nothing to write) is never answered from the cache: the caller
// reads (x nil, done false). When the script finds another header, x is the session as it
// returned it, for the caller to decide on as if just read (done when it is gone or expired).
func (s *Store) resolveRecent(ctx context.Context, dl session.Deadline, sb *sandbox, k *key, sessKey string, cached recentEntry,
	t *crypto.Token, o *session.ResolveOptions, res *session.ResolveResult, data *string) (done bool, x *sess, err error) {
	x = &sess{sb: sb, k: *k, key: sessKey, rawH: cached.h, now: s.clock.NowMs()}
	if x.st, err = openHeader(sb.keys, k, cached.h); err != nil {
		return false, nil, nil // not ours to judge: the read reports what Redis holds
	}
	if x.lastSeen, err = openTime(sb.keys, k, cached.l); err != nil || x.expiresAt() <= x.now {
		return false, nil, nil
	}
	tc := *t // Decide walks the token forward; the caller's copy stays as presented
	defer tc.Wipe()
	st := x.st
	out := session.Decide(sb.keys, &st, &tc, o, x.now)
	if out.Status != session.OK || !out.MustWrite(&st, x.lastSeen, x.now) {
		return false, nil, nil
	}
	newH := ""
	if out.Changed {
		if newH, err = sealHeader(sb.keys, k, &st); err != nil {
			return false, nil, err
		}
	}
	l, err := sealTime(sb.keys, k, x.now)
	if err != nil {
		return false, nil, err
	}
	reply, err := s.runScript(ctx, scriptResolve, []string{sessKey}, cached.h, newH, l, slidTo(&st, x.now), ms(int64(dl))).Result()
	if err != nil {
		return false, nil, err
	}
	code, fields, err := resolveReply(reply)
	if err != nil {
		return false, nil, err
	}
	s.recent.sample(code == 1)
	switch code {
	case 1:
		s.remember(x, true, newH, l)
		*data = fields[0]
		s.answer(x, &st, &out, &tc, o, x.now, res)
		return true, nil, nil
	case 0:
		s.recent.drop(sessKey)
		return true, nil, nil
	}
	fresh := &sess{sb: sb, k: *k, key: sessKey, data: fields[2]}
	fresh, found, err := s.loaded(ctx, fresh, fields[0], fields[1])
	return !found || err != nil, fresh, err
}

// remember updates the cached fields of x after a commit: applied, its header is now newH
// ("" = unchanged) and its last seen l; otherwise the entry is stale and goes.
func (s *Store) remember(x *sess, applied bool, newH, l string) {
	if !applied {
		s.recent.drop(x.key)
		return
	}
	if newH == "" {
		newH = x.rawH
	}
	s.recent.put(x.key, newH, l)
}
