package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// maxAttempts bounds the compare-and-set retries of one operation. A retry happens only when
// another request changed the same session between our read and our write; under any real
// contention the second attempt sees the winner's state and needs no further write of h.
const maxAttempts = 16

// sess is a session as read from Redis.
type sess struct {
	sb       *sandbox
	k        key
	key      string
	rawH     string // the sealed header as stored: the compare-and-set's expected value
	st       session.State
	lastSeen int64
	data     string // sealed (when read)
	meta     string // sealed (when read)
	now      int64
}

func (x *sess) expiresAt() int64 { return x.st.ExpiresAt(x.lastSeen) }

// read loads the session stored under k. found is false when it is absent, or expired (then
// it is removed, like a read in the memory store removes an expired record).
func (s *Store) read(ctx context.Context, sb *sandbox, k *key, withData, withMeta bool) (*sess, bool, error) {
	key := s.sessKey(sb, k)
	fields := []string{"h", "l"}
	if withData {
		fields = append(fields, "d")
	}
	if withMeta {
		fields = append(fields, "m")
	}
	vals, err := s.hmget(ctx, key, fields...)
	if err != nil {
		return nil, false, err
	}
	rawH, _ := vals[0].(string)
	rawL, _ := vals[1].(string)
	x := &sess{sb: sb, k: *k, key: key}
	if withData {
		x.data, _ = vals[2].(string)
	}
	if withMeta {
		x.meta, _ = vals[len(vals)-1].(string)
	}
	return s.loaded(ctx, x, rawH, rawL)
}

// loaded opens the header and last-seen fields read for x; found is false when the session is
// absent (empty fields) or expired (then it is removed). A live session is remembered (recent.go).
func (s *Store) loaded(ctx context.Context, x *sess, rawH, rawL string) (*sess, bool, error) {
	if rawH == "" || rawL == "" {
		s.recent.drop(x.key)
		return nil, false, nil
	}
	var err error
	x.rawH = rawH
	if x.st, err = openHeader(x.sb.keys, &x.k, rawH); err != nil {
		return nil, false, err
	}
	if x.lastSeen, err = openTime(x.sb.keys, &x.k, rawL); err != nil {
		return nil, false, err
	}
	x.now = s.clock.NowMs()
	if x.expiresAt() <= x.now {
		// Expired by our clock before Redis's own expiry removed it (clocks differ slightly).
		if _, err := s.remove(ctx, x, session.NoDeadline); err != nil {
			return nil, false, err
		}
		s.m.Expired.Add(1)
		if s.expiredCB != nil {
			s.expiredCB(x.sb.name, &x.k)
		}
		return nil, false, nil
	}
	s.recent.put(x.key, rawH, rawL)
	return x, true, nil
}

// remove deletes the session and its index entry, unless dl has passed; existed tells whether
// it was still there.
func (s *Store) remove(ctx context.Context, x *sess, dl session.Deadline) (bool, error) {
	keys := []string{x.key}
	if x.st.Flags&session.FlagUser != 0 {
		keys = append(keys, s.userKey(x.sb, &x.st.User))
	}
	s.recent.drop(x.key)
	n, err := scriptDelete.Run(ctx, s.rdb, keys, crypto.EncodeID(&x.k), ms(int64(dl))).Int64()
	return n == 1, err
}

// locate parses a token and reads its session. The token is returned for the caller to wipe.
func (s *Store) locate(ctx context.Context, sb *sandbox, token []byte, withData, withMeta bool) (*sess, crypto.Token, bool, error) {
	t, valid := crypto.ParseToken(token)
	if !valid {
		return nil, t, false, nil
	}
	k := sb.keys.SIDKey(&t.SID)
	x, ok, err := s.read(ctx, sb, &k, withData, withMeta)
	return x, t, ok, err
}

// locateAccepted reads the session of a token it accepts (session.Verdict.Accepted with
// graceMs: what S_UPDATE and S_REGENERATE act on). ok is false for any other token.
func (s *Store) locateAccepted(ctx context.Context, sb *sandbox, token []byte, graceMs uint64, withData, withMeta bool) (x *sess, ok bool, err error) {
	x, t, ok, err := s.locate(ctx, sb, token, withData, withMeta)
	if !ok || err != nil {
		return nil, false, err
	}
	v := x.classify(&t, graceMs)
	t.Wipe()
	return x, v.Accepted(), nil
}

// classify is session.Classify on the session read.
func (x *sess) classify(t *crypto.Token, graceMs uint64) session.Verdict {
	return session.Classify(x.sb.keys, &x.st, t, graceMs, x.now)
}

// commit writes a decision taken on x, unless dl has passed: the new state (nil: unchanged),
// last seen = x.now and the resulting expiry, and the new sealed data ("" = unchanged). retry:
// the session changed since it was read; gone: it no longer exists.
func (s *Store) commit(ctx context.Context, dl session.Deadline, x *sess, st *session.State, data string) (retry, gone bool, err error) {
	return s.commitSeen(ctx, dl, x, st, data, x.now)
}

// commitSeen is commit with the last-seen time to write (x.lastSeen: not a use of the session).
func (s *Store) commitSeen(ctx context.Context, dl session.Deadline, x *sess, st *session.State, data string, seen int64) (retry, gone bool, err error) {
	newH := ""
	if st != nil {
		if newH, err = sealHeader(x.sb.keys, &x.k, st); err != nil {
			return false, false, err
		}
	} else {
		st = &x.st
	}
	l, err := sealTime(x.sb.keys, &x.k, seen)
	if err != nil {
		return false, false, err
	}
	n, err := s.runScript(ctx, scriptCommit, []string{x.key}, x.rawH, newH, l, slidTo(st, seen), data, ms(x.now), ms(int64(dl))).Int64()
	if err != nil {
		return false, false, err
	}
	s.remember(x, n == 1, newH, l)
	return n == -1, n == 0, nil
}

// slidTo is the expiry argument of a commit that sets last seen to seen: its idle deadline, or
// "" (unchanged) for a session without an idle timeout, whose key already expires at its
// absolute expiry (set by create and regenerate, never moved).
func slidTo(st *session.State, seen int64) string {
	if st.IdleMs == 0 {
		return ""
	}
	return ms(st.ExpiresAt(seen))
}

// SessionResolve looks a token up and applies session.Decide's outcome, taken on the state
// read from Redis and committed with a compare-and-set on the sealed header: of N concurrent
// resolves of one token, on any number of sidecars, exactly one rotates; the others find
// their token's successor unpresented (or in grace) and get the same successor. It appends
// the session data to dst. A resolve that changes something is one script call when this
// Store's copy of the header is current (resolveRecent), else one read and one script; one
// that changes nothing is the read alone (session.Outcome.MustWrite).
func (s *Store) SessionResolve(dl session.Deadline, sandbox, token []byte, o session.ResolveOptions, dst []byte) (session.ResolveResult, error) {
	res := session.ResolveResult{Status: session.NotFound}
	if err := o.Check(); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	var data string
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			res = session.ResolveResult{Status: session.NotFound}
			t, valid := crypto.ParseToken(token)
			if !valid {
				return nil
			}
			done, x, err := s.resolveFirst(ctx, dl, sb, &t, &o, attempt == 0, &res, &data)
			if done || err != nil {
				t.Wipe()
				return err
			}
			retry, err := s.resolveOnce(ctx, dl, x, &t, &o, &res)
			t.Wipe()
			if err != nil || !retry {
				data = x.data
				return err
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the resolve; retry")
	})
	if err != nil {
		return session.ResolveResult{Status: session.NotFound}, err
	}
	if res.Status != session.OK {
		return res, nil
	}
	out, err := open(sb.keys, kindData, &res.SessionID, data, dst)
	if err != nil {
		return session.ResolveResult{Status: session.NotFound}, err
	}
	res.Out, res.Data = out, out[len(dst):]
	return res, nil
}

// resolveFirst answers the resolve of t from the cached header when it can (resolveRecent,
// on the first attempt while the cache is in use); otherwise it returns the session to decide
// on: as the cached attempt's script found it, or read now. done: answered (res, data set),
// or the session does not exist.
func (s *Store) resolveFirst(ctx context.Context, dl session.Deadline, sb *sandbox, t *crypto.Token, o *session.ResolveOptions,
	tryCache bool, res *session.ResolveResult, data *string) (done bool, x *sess, err error) {
	k := sb.keys.SIDKey(&t.SID)
	key := s.sessKey(sb, &k)
	cached, had := s.recent.get(key)
	if tryCache && had && s.recent.use() {
		if done, x, err = s.resolveRecent(ctx, dl, sb, &k, key, cached, t, o, res, data); done || err != nil {
			return true, nil, err
		}
		if x != nil {
			return false, x, nil
		}
	}
	x, found, err := s.read(ctx, sb, &k, true, false)
	s.recent.sample(found && had && cached.h == x.rawH)
	return !found || err != nil, x, err
}

// resolveOnce decides on x and commits the outcome; retry when x changed meanwhile.
func (s *Store) resolveOnce(ctx context.Context, dl session.Deadline, x *sess, t *crypto.Token, o *session.ResolveOptions, res *session.ResolveResult) (retry bool, err error) {
	st := x.st
	out := session.Decide(x.sb.keys, &st, t, o, x.now)
	switch {
	case out.Status == session.NotFound:
		return false, nil
	case out.Status == session.DeviceOverdue:
		return false, session.ErrDeviceOverdue() // nothing changes: the owner refreshes
	case out.Remove:
		// A session that must end ends whatever changed meanwhile: no compare.
		if _, err := s.remove(ctx, x, dl); err != nil {
			return false, err
		}
		*res = session.ResolveResult{Status: out.Status, SessionID: x.k, Mismatch: out.Mismatch, Revoked: out.Status == session.Mismatched}
		s.m.Applied(x.sb.name, &x.k, &out, o.OnMismatch)
		return false, nil
	case out.Status == session.Mismatched:
		*res = session.ResolveResult{Status: session.Mismatched, SessionID: x.k, Mismatch: out.Mismatch}
		s.m.Applied(x.sb.name, &x.k, &out, o.OnMismatch) // a rejection changes nothing
		return false, nil
	}
	seen := x.now
	if out.MustWrite(&st, x.lastSeen, x.now) {
		var changed *session.State
		if out.Changed {
			changed = &st
		}
		retry, gone, err := s.commit(ctx, dl, x, changed, "")
		if err != nil || retry || gone {
			return retry, err
		}
	} else {
		seen = x.lastSeen // nothing to write: the session stays as read (session/touch.go)
	}
	s.answer(x, &st, &out, t, o, seen, res)
	return false, nil
}

// answer is the OK reply of a resolve applied on x: st the state after it, seen the last-seen
// time stored.
func (s *Store) answer(x *sess, st *session.State, out *session.Outcome, t *crypto.Token, o *session.ResolveOptions, seen int64, res *session.ResolveResult) {
	s.m.Applied(x.sb.name, &x.k, out, o.OnMismatch)
	*res = session.ResolveResult{Status: session.OK, Rotated: out.Rotated, ExpiresAt: st.ExpiresAt(seen), SessionID: x.k,
		Flags: st.ReplyFlags(), Mismatch: out.Mismatch, HasCSRF: o.WantCSRF, Auth: st.Auth}
	if o.WantCSRF {
		res.CSRF = x.sb.keys.CSRFToken(&t.SID)
	}
	t.AppendEncoded(res.Token[:0])
}
