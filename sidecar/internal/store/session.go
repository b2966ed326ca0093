package store

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sync/atomic"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Status is the outcome of a session lookup.
type Status uint8

const (
	OK         Status = iota
	NotFound          // absent, expired, malformed or not verifying: indistinguishable to clients
	Reused            // a superseded token outside its grace window: the session was revoked
	Mismatched        // the client does not match the session's binding (revoke or reject action)
)

// graceCap bounds how many superseded generations can be in grace at once; a generation
// pushed out by it counts as outside grace.
const graceCap = 32

func sessRecSize(flags uint8, data, meta []byte) int {
	return sessHdrSize(flags) + crypto.SealedSize(len(data)+len(meta)+4)
}

// sealSession seals data || meta || u32 len(meta) in place into the record's sealed area.
func sealSession(keys *crypto.SandboxKeys, k *key, rec sessRec, data, meta []byte) error {
	buf := rec[sessHdrSize(rec.flags()) : len(rec)-crypto.TagSize]
	pt := buf[crypto.NonceSize:]
	copy(pt, data)
	copy(pt[len(data):], meta)
	binary.LittleEndian.PutUint32(pt[len(data)+len(meta):], uint32(len(meta)))
	_, err := keys.SealBuffer(buf, crypto.KindSession, k)
	return err
}

// openSession appends the plaintext to dst and splits it: out is dst extended by the data only;
// data and meta alias the plaintext (meta lives past len(out), in out's capacity).
func openSession(keys *crypto.SandboxKeys, k *key, sealed, dst []byte) (out, data, meta []byte, err error) {
	start := len(dst)
	full, err := keys.Open(dst, sealed, crypto.KindSession, k)
	if err != nil {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record failed to open")
	}
	pt := full[start:]
	if len(pt) < 4 {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	n := binary.LittleEndian.Uint32(pt[len(pt)-4:])
	if uint64(n)+4 > uint64(len(pt)) {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	end := len(pt) - 4 - int(n)
	return full[:start+end], pt[:end:end], pt[end : len(pt)-4], nil
}

// CreateResult is what S_CREATE replies.
type CreateResult struct {
	Token     [crypto.TokenLength]byte
	SessionID key
	ExpiresAt int64
	CSRF      key   // the session's CSRF token (crypto.CSRFToken)
	Evicted   []key // sessions of the same user ended by the evict-oldest policy
}

// LimitPolicy is what SessionCreateWith does when the user already has MaxPerUser sessions.
type LimitPolicy uint8

const (
	LimitEvictOldest LimitPolicy = 0 // end the user's oldest sessions to make room
	LimitReject      LimitPolicy = 1 // refuse the new session (LIMIT_REACHED)
)

// CreateOptions are the fields of S_CREATE besides the sandbox and the data.
type CreateOptions struct {
	TTLMs  uint64 // absolute lifetime, 1..5 days
	IdleMs uint64 // idle timeout, 0 = none, else 1..5 days
	UserID []byte // "" = none; else the session is in the per-user index
	Meta   []byte // sealed with the data; returned by S_LIST only
	// Remember marks a remember-me session (the client keeps a persistent cookie); resolve
	// reports it so every rotated cookie keeps the same kind.
	Remember   bool
	MaxPerUser uint32 // 0 = no limit (only with a UserID)
	OnLimit    LimitPolicy
	Bind       BindMode
	IP         []byte // the client's address (hashed when bound, else unused)
	UserAgent  []byte // the client's user agent (hashed when bound, else unused)
}

// SessionCreate starts a session. ttlMs is its absolute lifetime (1..5 days), idleMs its idle
// timeout (0 = none, else 1..5 days), userID ("" = none) puts it in the per-user index.
func (s *Store) SessionCreate(sandbox, data []byte, ttlMs, idleMs uint64, userID, meta []byte) (CreateResult, error) {
	return s.SessionCreateWith(sandbox, data, CreateOptions{TTLMs: ttlMs, IdleMs: idleMs, UserID: userID, Meta: meta})
}

// SessionCreateWith starts a session with every S_CREATE option. With a user, the whole
// operation (counting the user's live sessions, evicting or refusing, inserting) runs under
// that user's limit lock, so concurrent logins of one user never exceed MaxPerUser.
func (s *Store) SessionCreateWith(sandbox, data []byte, o CreateOptions) (CreateResult, error) {
	var res CreateResult
	if err := s.checkValue(data, "data"); err != nil {
		return res, err
	}
	if err := s.checkValue(o.Meta, "meta"); err != nil {
		return res, err
	}
	if err := checkTTL(o.TTLMs, "ttlMs"); err != nil {
		return res, err
	}
	if o.IdleMs > MaxTTLMs {
		return res, xerr.New(xerr.InvalidTTL, "idleMs must be 0 (none) or 1..%d ms (5 days)", MaxTTLMs)
	}
	if o.OnLimit > LimitReject {
		return res, xerr.New(xerr.BadRequest, "onLimit must be 0 (evict-oldest) or 1 (reject)")
	}
	if !o.Bind.valid() {
		return res, xerr.New(xerr.BadRequest, "bindMode has an invalid value 0x%02x", uint8(o.Bind))
	}
	sb, err := s.sandboxFor(sandbox, true)
	if err != nil {
		return res, err
	}
	flags := o.Bind.recordFlags()
	if o.Remember {
		flags |= flagRemember
	}
	var user key
	if len(o.UserID) > 0 {
		flags |= flagUser
		user = sb.keys.UserKey(o.UserID)
		lock := sb.limitLock(&user)
		lock.Lock()
		defer lock.Unlock()
		if o.MaxPerUser > 0 {
			if res.Evicted, err = s.enforceLimit(sb, &user, o.MaxPerUser, o.OnLimit); err != nil {
				return res, err
			}
		}
	}
	var ipHash, uaHash key
	if flags&flagBindIP != 0 {
		ipHash = sb.keys.BindIP(bindAddress(o.IP, flags&flagBindSubnet != 0))
	}
	if flags&flagBindUA != 0 {
		uaHash = sb.keys.BindAgent(o.UserAgent)
	}
	t, k, verifier, sh, err := sb.lockNewSession()
	if err != nil {
		return res, err
	}
	defer t.Wipe()
	defer sh.mu.Unlock()
	c := sb.track(sh, kindSess, &k)
	l, rb := sh.mem.alloc(sessRecSize(flags, data, o.Meta), kindSess, &k)
	r := sessRec(rb)
	now := s.clock.NowMs()
	r.setVerifier(&verifier)
	binary.LittleEndian.PutUint64(r[sCreated:], uint64(now))
	r.put32(sIssued, 0)
	r.put32(sLastSeen, 0)
	r.put32(sAbsExp, uint32(o.TTLMs))
	r.put32(sGen, 0)
	r.put32(sIdle, uint32(o.IdleMs))
	r[sFlags] = flags
	if flags&flagUser != 0 {
		r.setOpt(flagUser, &user)
	}
	if flags&flagBindIP != 0 {
		r.setOpt(flagBindIP, &ipHash)
	}
	if flags&flagBindUA != 0 {
		r.setOpt(flagBindUA, &uaHash)
	}
	if err := sealSession(sb.keys, &k, r, data, o.Meta); err != nil {
		sh.mem.release(l)
		return res, xerr.New(xerr.Internal, "sealing failed")
	}
	sb.insertSession(sh, &k, l)
	if err := c.commit(); err != nil {
		return CreateResult{Evicted: res.Evicted}, err
	}
	res.ExpiresAt = r.expiresAt()
	t.AppendEncoded(res.Token[:0])
	res.SessionID = k
	res.CSRF = sb.keys.CSRFToken(&t.SID)
	return res, nil
}

// insertSession makes a new, fully written and sealed session record at l live: map entry,
// byte count, expiry schedule, per-user index. Every path that creates a session record
// (S_CREATE, S_REGENERATE) goes through here. Caller holds sh.mu.
func (sb *sandbox) insertSession(sh *shard, k *key, l uint64) {
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

// ResolveResult is what S_RESOLVE replies.
type ResolveResult struct {
	Status    Status
	Token     [crypto.TokenLength]byte // the current token (OK only)
	Rotated   bool
	ExpiresAt int64
	SessionID key
	Out       []byte // the caller's dst extended by the data (OK only)
	Data      []byte // the data: the tail of Out
	Flags     uint8  // SessionFlag* bits (OK only)
	// Mismatch: MismatchIP / MismatchAgent bits of a failed binding check (OK with the log
	// action, or Mismatched).
	Mismatch uint8
	Revoked  bool // Mismatched: the session was revoked (the revoke action)
	CSRF     key  // the session's CSRF token (OK with ResolveOptions.WantCSRF)
	HasCSRF  bool
}

// Session flags reported by resolve.
const (
	SessionFlagRemember uint8 = 1 // created with remember-me
	SessionFlagIdle     uint8 = 2 // has an idle timeout (its expiry slides)
)

// ResolveOptions are the fields of S_RESOLVE besides the sandbox and the token.
type ResolveOptions struct {
	Rotate      bool
	GraceMs     uint64
	MinRotateMs uint64
	WantCSRF    bool
	// CheckBinding compares IP and UserAgent with what the session is bound to (if anything)
	// and applies OnMismatch.
	CheckBinding bool
	OnMismatch   MismatchAction
	IP           []byte
	UserAgent    []byte
}

// found is a located session: its shard is locked until release.
type found struct {
	sb  *sandbox
	sh  *shard
	k   key
	l   uint64
	t   crypto.Token
	now int64
}

func (f *found) rec() sessRec { return sessRec(f.sh.mem.rec(f.l)) }

func (f *found) release() {
	f.t.Wipe()
	f.sh.afterFree()
	f.sh.mu.Unlock()
}

// locate finds the live session a token names, removing it if expired. ok: the shard is
// locked and the caller must call release.
func (s *Store) locate(sandbox, token []byte) (f found, ok bool, err error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return f, false, err
	}
	t, valid := crypto.ParseToken(token)
	if !valid {
		return f, false, nil
	}
	f = found{sb: sb, t: t}
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
		return found{}, false, nil
	}
	return f, true, nil
}

// tokenState classifies a presented token against its session. Caller holds the shard lock.
type tokenState uint8

const (
	tokenInvalid  tokenState = iota // does not verify, or claims a future generation
	tokenCurrent                    // the current generation, verified
	tokenInGrace                    // superseded less than graceMs ago, verified
	tokenOutdated                   // superseded graceMs or more ago (or pushed out by the cap)
)

// supersededAt returns when generation g (older than the current one) was superseded, if the
// session still remembers: generation g ended when g+1 was issued.
func (f *found) supersededAt(r sessRec, g uint32) (int64, bool) {
	d := r.gen() - 1 - g // 0: the previous generation
	if d == 0 {
		return r.issued(), true
	}
	if r.flags()&flagHist == 0 {
		return 0, false
	}
	h := f.sh.hist[f.k]
	if int(d) > len(h) {
		return 0, false
	}
	return r.created() + int64(h[len(h)-int(d)]), true
}

// classify decides what the presented token is. An in-grace token is verified by walking its
// secret forward to the current generation and comparing with the current verifier; on
// success f.t is left holding the current token.
func (f *found) classify(r sessRec, graceMs uint64) tokenState {
	cur := r.gen()
	switch {
	case f.t.Gen > cur:
		return tokenInvalid
	case f.t.Gen == cur:
		if f.verifies(r) {
			return tokenCurrent
		}
		return tokenInvalid
	case cur-f.t.Gen > graceCap:
		return tokenOutdated
	}
	at, known := f.supersededAt(r, f.t.Gen)
	if !known || at <= f.now-int64(graceMs) {
		// An older generation is presented. Its sid is 128 secret random bits that only ever
		// left the sidecar inside this session's tokens, so whoever presents it held one.
		return tokenOutdated
	}
	for f.t.Gen < cur {
		f.sb.keys.Advance(&f.t)
	}
	if f.verifies(r) {
		return tokenInGrace
	}
	return tokenInvalid
}

func (f *found) verifies(r sessRec) bool {
	v := f.sb.keys.Verifier(&f.t)
	want := r.verifier()
	return crypto.VerifierEqual(&v, &want)
}

// rotate moves the session to its next generation; f.t (the current token) is advanced.
func (f *found) rotate(r sessRec) {
	cur := r.gen()
	prevIssued := r.issued()
	if cur > 0 && prevIssued > f.now-MaxGraceMs {
		// Generation cur-1 was superseded at prevIssued, recently enough that a request may
		// still present it once cur is superseded too: remember when.
		h := pruneHistList(f.sh.hist[f.k], r, f.now)
		if len(h) >= graceCap-1 {
			h = h[len(h)-(graceCap-2):]
		}
		f.sh.hist[f.k] = append(h, uint32(prevIssued-r.created()))
		r.setFlag(flagHist, true)
	} else if r.flags()&flagHist != 0 {
		delete(f.sh.hist, f.k) // everything older is outside every grace window
		r.setFlag(flagHist, false)
	}
	f.sb.keys.Advance(&f.t)
	v := f.sb.keys.Verifier(&f.t)
	r.setVerifier(&v)
	r.put32(sGen, f.t.Gen)
	r.setAt(sIssued, f.now)
}

// SessionResolve looks a token up, rotating it when asked, and appends the session data to dst.
func (s *Store) SessionResolve(sandbox, token []byte, rotate bool, graceMs, minRotateMs uint64, dst []byte) (ResolveResult, error) {
	return s.SessionResolveWith(sandbox, token, ResolveOptions{Rotate: rotate, GraceMs: graceMs, MinRotateMs: minRotateMs}, dst)
}

// SessionResolveWith is SessionResolve with every S_RESOLVE option: the binding check (before
// any rotation, so a refused request rotates nothing) and the CSRF token.
func (s *Store) SessionResolveWith(sandbox, token []byte, o ResolveOptions, dst []byte) (ResolveResult, error) {
	res := ResolveResult{Status: NotFound}
	if o.GraceMs > MaxGraceMs {
		return res, xerr.New(xerr.BadRequest, "graceMs must be at most %d", MaxGraceMs)
	}
	if o.CheckBinding && o.OnMismatch > MismatchLog {
		return res, xerr.New(xerr.BadRequest, "onMismatch must be 0 (revoke), 1 (reject) or 2 (log)")
	}
	f, ok, err := s.locate(sandbox, token)
	if !ok {
		return res, err
	}
	defer f.release()
	r := f.rec()
	state := f.classify(r, o.GraceMs)
	switch state {
	case tokenInvalid:
		return res, nil
	case tokenOutdated:
		c := f.sb.track(f.sh, kindSess, &f.k)
		f.sb.removeSession(f.sh, &f.k, f.l)
		if err := c.commit(); err != nil {
			return res, err
		}
		s.reuse.Add(1)
		s.log.Warn("token reuse detected: session revoked", "sandbox", f.sb.name, "sessionId", crypto.EncodeID(&f.k))
		return ResolveResult{Status: Reused, SessionID: f.k}, nil
	}
	if o.CheckBinding {
		if m := f.bindingMismatch(r, o.IP, o.UserAgent); m != 0 {
			s.mismatches.Add(1)
			s.log.Info("binding mismatch", "sandbox", f.sb.name, "sessionId", crypto.EncodeID(&f.k),
				"address", m&MismatchIP != 0, "userAgent", m&MismatchAgent != 0, "action", o.OnMismatch.String())
			switch o.OnMismatch {
			case MismatchRevoke:
				c := f.sb.track(f.sh, kindSess, &f.k)
				f.sb.removeSession(f.sh, &f.k, f.l)
				if err := c.commit(); err != nil {
					return res, err
				}
				s.revoked.Add(1)
				return ResolveResult{Status: Mismatched, SessionID: f.k, Mismatch: m, Revoked: true}, nil
			case MismatchReject:
				return ResolveResult{Status: Mismatched, SessionID: f.k, Mismatch: m}, nil
			}
			res.Mismatch = m
		}
	}
	// Only the current token rotates: an in-grace token gets the current one, never a new one.
	rotating := state == tokenCurrent && o.Rotate && r.gen() < math.MaxUint32 && f.now >= r.issued() && uint64(f.now-r.issued()) >= o.MinRotateMs
	var c *change
	if rotating || r.u32(sIdle) > 0 {
		c = f.sb.track(f.sh, kindSess, &f.k)
	}
	if rotating {
		f.rotate(r)
	}
	r.setAt(sLastSeen, f.now)
	// A rotation is journaled before the new token is handed out; the last-seen time alone is
	// journaled only when it slides an idle timeout, and nobody waits for it (persist.go).
	if rotating {
		if err := c.commit(); err != nil {
			return ResolveResult{Status: NotFound}, err
		}
		s.rotations.Add(1)
		res.Rotated = true
	} else {
		c.commitLazy()
	}
	out, data, meta, err := openSession(f.sb.keys, &f.k, r.sealed(), dst)
	if err != nil {
		return ResolveResult{Status: NotFound}, err
	}
	clear(meta)
	res.Status = OK
	res.Out, res.Data = out, data
	res.ExpiresAt = r.expiresAt()
	res.SessionID = f.k
	res.Flags = r.sessionFlags()
	if o.WantCSRF {
		res.CSRF, res.HasCSRF = f.sb.keys.CSRFToken(&f.t.SID), true
	}
	f.t.AppendEncoded(res.Token[:0])
	return res, nil
}

// SessionUpdate replaces the data of the session of a current or in-grace (DefaultGraceMs)
// token. It counts as activity (slides the idle deadline) but never extends the absolute expiry.
func (s *Store) SessionUpdate(sandbox, token, data []byte) (int64, bool, error) {
	return s.SessionUpdateGrace(sandbox, token, data, DefaultGraceMs)
}

// SessionUpdateGrace is SessionUpdate accepting tokens superseded less than graceMs ago.
func (s *Store) SessionUpdateGrace(sandbox, token, data []byte, graceMs uint64) (int64, bool, error) {
	if err := s.checkValue(data, "data"); err != nil {
		return 0, false, err
	}
	if graceMs > MaxGraceMs {
		return 0, false, xerr.New(xerr.BadRequest, "graceMs must be at most %d", MaxGraceMs)
	}
	f, ok, err := s.locate(sandbox, token)
	if !ok {
		return 0, false, err
	}
	defer f.release()
	old := f.rec()
	if st := f.classify(old, graceMs); st != tokenCurrent && st != tokenInGrace {
		return 0, false, nil
	}
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
		return 0, false, xerr.New(xerr.Internal, "sealing failed")
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

// SessionRevoke revokes the session of any of its tokens: current, in grace or older. A
// current or in-grace generation must verify; an older one proves itself by its sid.
func (s *Store) SessionRevoke(sandbox, token []byte) (bool, error) {
	_, existed, err := s.SessionRevokeToken(sandbox, token)
	return existed, err
}

// SessionRevokeToken is SessionRevoke that also returns the revoked session's id.
func (s *Store) SessionRevokeToken(sandbox, token []byte) (key, bool, error) {
	f, ok, err := s.locate(sandbox, token)
	if !ok {
		return key{}, false, err
	}
	defer f.release()
	if f.classify(f.rec(), MaxGraceMs) == tokenInvalid {
		return key{}, false, nil
	}
	c := f.sb.track(f.sh, kindSess, &f.k)
	f.sb.removeSession(f.sh, &f.k, f.l)
	if err := c.commit(); err != nil {
		return key{}, false, err
	}
	s.revoked.Add(1)
	return f.k, true, nil
}

// SessionRevokeID revokes a session by its public id.
func (s *Store) SessionRevokeID(sandbox, sessionID []byte) (bool, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return false, err
	}
	k, ok := crypto.DecodeID(sessionID)
	if !ok {
		return false, nil
	}
	return s.revokeKeyErr(sb, &k, nil, &s.revoked)
}

// revokeKey removes the session stored under k, if live and (when user is set) owned by user,
// and counts it in counter (revoked or evicted). An expired one is removed and counted as
// expired instead.
func (s *Store) revokeKey(sb *sandbox, k *key, user *key, counter *atomic.Uint64) bool {
	ok, _ := s.revokeKeyErr(sb, k, user, counter)
	return ok
}

// revokeKeyErr is revokeKey that also returns the error of a removal the vault could not
// write (the session is then left alone).
func (s *Store) revokeKeyErr(sb *sandbox, k *key, user *key, counter *atomic.Uint64) (bool, error) {
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
	expired := r.expiresAt() <= s.clock.NowMs()
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

// SessionInfo is one entry of S_LIST.
type SessionInfo struct {
	SessionID  key
	CreatedAt  int64
	LastSeenAt int64
	ExpiresAt  int64
	Meta       []byte
}

// SessionList returns the live sessions of a user, oldest first.
func (s *Store) SessionList(sandbox, userID []byte) ([]SessionInfo, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	var out []SessionInfo
	for _, k := range sb.indexList(&u) {
		info, ok, err := s.sessionInfo(sb, &k, &u)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := cmp.Compare(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.SessionID[:], b.SessionID[:])
	})
	return out, nil
}

func (s *Store) sessionInfo(sb *sandbox, k, u *key) (SessionInfo, bool, error) {
	sh := sb.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l, ok := sh.sess[*k]
	if !ok {
		return SessionInfo{}, false, nil
	}
	r := sessRec(sh.mem.rec(l))
	if !r.hasUser() || r.user() != *u || r.expiresAt() <= s.clock.NowMs() {
		return SessionInfo{}, false, nil
	}
	_, data, meta, err := openSession(sb.keys, k, r.sealed(), nil)
	if err != nil {
		return SessionInfo{}, false, err
	}
	clear(data)
	return SessionInfo{SessionID: *k, CreatedAt: r.created(), LastSeenAt: r.lastSeen(), ExpiresAt: r.expiresAt(), Meta: meta}, true, nil
}

// SessionRevokeAll revokes every session of a user except the one exceptToken belongs to (any
// generation that SessionRevoke would accept). Returns how many were revoked.
func (s *Store) SessionRevokeAll(sandbox, userID, exceptToken []byte) (uint32, error) {
	ids, err := s.SessionRevokeAllIDs(sandbox, userID, exceptToken)
	return uint32(len(ids)), err
}

// SessionRevokeAllIDs revokes every session of a user except the one `except` names: a token
// of it (any generation SessionRevoke would accept) or its public session id. It returns the
// ids of the sessions revoked.
func (s *Store) SessionRevokeAllIDs(sandbox, userID, except []byte) ([]key, error) {
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
		revoked, err := s.revokeKeyErr(sb, &k, &u, &s.revoked)
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
	f, ok, _ := s.locate(sandbox, except)
	if !ok {
		return key{}, false
	}
	defer f.release()
	return f.k, f.classify(f.rec(), MaxGraceMs) != tokenInvalid
}

// lockNewSession draws a fresh token and locks the shard its session id falls in, refusing the
// (astronomically unlikely) case of a 128-bit id that is already taken rather than overwriting
// it. On success the caller owns sh.mu and must unlock it and wipe t.
func (sb *sandbox) lockNewSession() (t crypto.Token, k key, verifier crypto.Digest, sh *shard, err error) {
	t, err = crypto.NewToken()
	if err != nil {
		return t, k, verifier, nil, xerr.New(xerr.Internal, "random source failed")
	}
	k = sb.keys.SIDKey(&t.SID)
	verifier = sb.keys.Verifier(&t)
	sh = sb.shard(&k)
	sh.mu.Lock()
	if _, exists := sh.sess[k]; exists {
		sh.mu.Unlock()
		t.Wipe()
		return t, k, verifier, nil, xerr.New(xerr.Internal, "session id collision, retry")
	}
	return t, k, verifier, sh, nil
}
