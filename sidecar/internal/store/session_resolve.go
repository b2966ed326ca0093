package store

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// found is a located session: its shard is locked until release.
type found struct {
	sb  *sandbox
	sh  *shard
	k   key
	l   uint64
	t   crypto.Token
	now int64
	st  session.State
}

func (f *found) rec() sessRec { return sessRec(f.sh.mem.rec(f.l)) }

func (f *found) release() {
	f.t.Wipe()
	f.sh.afterFree()
	f.sh.mu.Unlock()
}

// locate finds the live session a token names, removing it if expired, and reads its state
// into f.st. ok: the shard is locked and the caller must call release.
func (s *Store) locate(sandbox, token []byte, f *found) (ok bool, err error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return false, err
	}
	t, valid := crypto.ParseToken(token)
	if !valid {
		return false, nil
	}
	f.sb, f.t = sb, t
	f.k = sb.keys.SIDKey(&t.SID)
	f.sh = sb.shard(&f.k)
	f.sh.mu.Lock()
	f.now = s.clock.NowMs()
	f.l, ok = f.sh.sess[f.k]
	if ok && f.rec().expiresAt() <= f.now {
		sb.removeSession(f.sh, &f.k, f.l)
		s.sessionExpired(sb, &f.k)
		ok = false
	}
	if !ok {
		f.release()
		return false, nil
	}
	r := f.rec()
	var hist []uint32
	if r.flags()&flagHist != 0 { // most sessions have none: spare the map lookup
		hist = f.sh.hist[f.k]
	}
	r.state(&f.st, hist)
	if r.flags()&flagDevice != 0 {
		if err := f.sh.readDevice(f.sb.keys, &f.k, &f.st); err != nil {
			f.release()
			return false, err
		}
	}
	return true, nil
}

// classify is session.Classify on the located session.
func (f *found) classify(graceMs uint64) session.Verdict {
	return session.Classify(f.sb.keys, &f.st, &f.t, graceMs, f.now)
}

// SessionResolve looks a token up and applies session.Decide's outcome (first presentation,
// rotation, reuse or binding revocation, last seen), all under the record's shard lock, and
// appends the session data to dst.
func (s *Store) SessionResolve(dl session.Deadline, sandbox, token []byte, o session.ResolveOptions, dst []byte) (session.ResolveResult, error) {
	res := session.ResolveResult{Status: session.NotFound}
	if err := o.Check(); err != nil {
		return res, err
	}
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return res, err
	}
	defer f.release()
	out := session.Decide(f.sb.keys, &f.st, &f.t, &o, f.now)
	switch {
	case out.Status == session.NotFound:
		return res, nil
	case out.Status == session.DeviceOverdue:
		return res, session.ErrDeviceOverdue() // nothing changes: the owner refreshes
	case out.Status == session.Mismatched && !out.Remove:
		s.m.Applied(f.sb.name, &f.k, &out, o.OnMismatch) // a rejection changes nothing
		return session.ResolveResult{Status: session.Mismatched, SessionID: f.k, Mismatch: out.Mismatch}, nil
	case dl.Passed(f.now):
		return res, session.ErrDeadline()
	case out.Remove:
		c := f.sb.track(f.sh, kindSess, &f.k)
		f.sb.removeSession(f.sh, &f.k, f.l)
		if err := c.commit(); err != nil {
			return res, err
		}
		s.m.Applied(f.sb.name, &f.k, &out, o.OnMismatch)
		return session.ResolveResult{Status: out.Status, SessionID: f.k, Mismatch: out.Mismatch, Revoked: out.Status == session.Mismatched}, nil
	}
	r := f.rec()
	var c *change
	if out.Changed || f.st.IdleMs > 0 {
		c = f.sb.track(f.sh, kindSess, &f.k)
	}
	if out.Changed {
		r.setRotation(&f.st)
		f.sh.setHistory(&f.k, r, f.st.Older)
	}
	r.setAt(sLastSeen, f.now)
	// A new rotation state is journaled before the token is handed out; the last-seen time
	// alone is journaled only when it slides an idle timeout, and nobody waits for it
	// (persist.go).
	if out.Changed {
		if err := c.commit(); err != nil {
			return res, err
		}
	} else {
		c.commitLazy()
	}
	s.m.Applied(f.sb.name, &f.k, &out, o.OnMismatch)
	data, auth, err := f.open(r, dst)
	if err != nil {
		return res, err
	}
	res = session.ResolveResult{Status: session.OK, Rotated: out.Rotated, ExpiresAt: r.expiresAt(), SessionID: f.k,
		Out: data, Data: data[len(dst):], Flags: f.st.ReplyFlags(), Mismatch: out.Mismatch, HasCSRF: o.WantCSRF, Auth: auth}
	if o.WantCSRF {
		res.CSRF = f.sb.keys.CSRFToken(&f.t.SID)
	}
	f.t.AppendEncoded(res.Token[:0])
	return res, nil
}

// open appends the session data to dst and reads the authentication record (the meta is wiped).
func (f *found) open(r sessRec, dst []byte) ([]byte, session.Auth, error) {
	out, _, meta, err := openSession(f.sb.keys, &f.k, r.sealed(), dst)
	_, auth := splitAuth(r.flags(), meta)
	clear(meta)
	return out, auth, err
}

// SessionUpdate replaces the data of the session of a current token, or of one it answers for
// (session.Verdict.Accepted, with graceMs). It counts as activity (slides the idle deadline)
// but never extends the absolute expiry, and it is not a presentation: it is how the server
// saves a request's session under the token it already resolved.
func (s *Store) SessionUpdate(dl session.Deadline, sandbox, token, data []byte, graceMs uint64) (int64, bool, error) {
	if err := session.CheckValue(data, s.maxValue, "data"); err != nil {
		return 0, false, err
	}
	if err := session.CheckGrace(graceMs); err != nil {
		return 0, false, err
	}
	var f found
	if ok, err := s.locate(sandbox, token, &f); !ok {
		return 0, false, err
	}
	defer f.release()
	if !f.classify(graceMs).Accepted() {
		return 0, false, nil
	}
	if dl.Passed(f.now) {
		return 0, false, session.ErrDeadline()
	}
	old := f.rec()
	_, oldData, meta, err := openSession(f.sb.keys, &f.k, old.sealed(), nil)
	if err != nil {
		return 0, false, err
	}
	defer clear(meta)
	clear(oldData)
	hdr := sessHdrSize(old.flags())
	c := f.sb.track(f.sh, kindSess, &f.k)
	l, rb := f.sh.mem.alloc(sessRecSize(old.flags(), data, meta), kindSess, &f.k)
	r := sessRec(rb)
	old = f.rec() // alloc may not move records, but re-read for clarity
	copy(r[recHdr:hdr], old[recHdr:hdr])
	if err := sealSession(f.sb.keys, &f.k, r, data, meta); err != nil {
		f.sh.mem.release(l)
		return 0, false, err
	}
	f.sh.bytes += int64(len(r.sealed()) - len(old.sealed()))
	f.sh.mem.release(f.l)
	f.sh.sess[f.k], f.l = l, l
	r.setAt(sLastSeen, f.now)
	if err := c.commit(); err != nil {
		return 0, false, err
	}
	return r.expiresAt(), true, nil
}
