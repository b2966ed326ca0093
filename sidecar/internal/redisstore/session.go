package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"math"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// maxAttempts bounds the compare-and-set retries of one operation. A retry happens only when
// another request changed the same session between our read and our write; under any real
// contention the second attempt sees the winner's state and needs no further write of h.
const maxAttempts = 16

// newToken draws a token whose session id falls in bucket (the first byte of its keyed hash),
// or in any bucket when bucket < 0. Drawing about 256 sids for a bucket costs some 60 µs,
// once per login; it is what lets a user's sessions share a hash slot.
func newToken(keys *crypto.SandboxKeys, bucket int) (crypto.Token, key, error) {
	t, err := crypto.NewToken()
	if err != nil {
		return t, key{}, xerr.New(xerr.Internal, "random source failed")
	}
	for i := 0; ; i++ {
		k := keys.SIDKey(&t.SID)
		if bucket < 0 || int(k[0]) == bucket {
			return t, k, nil
		}
		if i == 1<<16 {
			t.Wipe()
			return t, key{}, xerr.New(xerr.Internal, "could not draw a session id")
		}
		if _, err := rand.Read(t.SID[:]); err != nil {
			t.Wipe()
			return t, key{}, xerr.New(xerr.Internal, "random source failed")
		}
	}
}

// SessionCreate starts a session (see store.Store.SessionCreate).
func (s *Store) SessionCreate(sandbox, data []byte, ttlMs, idleMs uint64, userID, meta []byte) (store.CreateResult, error) {
	return s.SessionCreateWith(sandbox, data, store.CreateOptions{TTLMs: ttlMs, IdleMs: idleMs, UserID: userID, Meta: meta})
}

// SessionCreateWith starts a session with every S_CREATE option. With a user and a limit, the
// count of the user's live sessions, the eviction or refusal and the insertion are one script.
func (s *Store) SessionCreateWith(sandbox, data []byte, o store.CreateOptions) (store.CreateResult, error) {
	var res store.CreateResult
	if err := store.CheckValue(data, s.maxValue, "data"); err != nil {
		return res, err
	}
	if err := store.CheckValue(o.Meta, s.maxValue, "meta"); err != nil {
		return res, err
	}
	if err := store.CheckTTL(o.TTLMs, "ttlMs"); err != nil {
		return res, err
	}
	if o.IdleMs > store.MaxTTLMs {
		return res, xerr.New(xerr.InvalidTTL, "idleMs must be 0 (none) or 1..%d ms (5 days)", store.MaxTTLMs)
	}
	if o.OnLimit > store.LimitReject {
		return res, xerr.New(xerr.BadRequest, "onLimit must be 0 (evict-oldest) or 1 (reject)")
	}
	if !o.Bind.Valid() {
		return res, xerr.New(xerr.BadRequest, "bindMode has an invalid value 0x%02x", uint8(o.Bind))
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	now := s.clock.NowMs()
	h := header{created: now, issued: now, absExp: now + int64(o.TTLMs), idle: uint32(o.IdleMs)}
	if o.Remember {
		h.flags |= fRemember
	}
	bucket := -1
	if len(o.UserID) > 0 {
		h.flags |= fUser
		h.user = sb.keys.UserKey(o.UserID)
		bucket = int(h.user[0])
	}
	if o.Bind.BindsIP() {
		h.flags |= fBindIP
		if o.Bind.BindsSubnet() {
			h.flags |= fBindSubnet
		}
		h.ip = sb.keys.BindIP(store.BindAddress(o.IP, o.Bind.BindsSubnet()))
	}
	if o.Bind.BindsAgent() {
		h.flags |= fBindUA
		h.ua = sb.keys.BindAgent(o.UserAgent)
	}
	t, k, err := newToken(sb.keys, bucket)
	if err != nil {
		return res, err
	}
	defer t.Wipe()
	h.verifier = sb.keys.Verifier(&t)
	fields, err := s.sealNew(sb, &k, &h, data, o.Meta, now)
	if err != nil {
		return res, err
	}
	keys := []string{s.sessKey(sb, &k)}
	if h.flags&fUser != 0 {
		keys = append(keys, s.userKey(sb, &h.user))
	}
	policy := "0"
	if o.OnLimit == store.LimitReject {
		policy = "1"
	}
	var reply []any
	err = s.do(func(ctx context.Context) (err error) {
		reply, err = scriptCreate.Run(ctx, s.rdb, keys, fields.h, fields.d, fields.l, fields.m, ms(h.expiresAt(now)),
			ms(now), ms(h.absExp), o.MaxPerUser, policy, crypto.EncodeID(&k), s.bucketPrefix(sb, k[0], "s"), ms(now)).Slice()
		return err
	})
	if err != nil {
		return res, err
	}
	code, _ := reply[0].(int64)
	switch code {
	case -1:
		return res, xerr.New(xerr.Internal, "session id collision, retry")
	case -2:
		live, _ := reply[1].(int64)
		return res, xerr.New(xerr.LimitReached, "the user already has %d live sessions in this sandbox (maxSessionsPerUser %d)", live, o.MaxPerUser)
	}
	for _, v := range reply[1:] {
		if id, ok := v.(string); ok {
			if d, ok := crypto.DecodeID([]byte(id)); ok {
				res.Evicted = append(res.Evicted, d)
				s.evicted.Add(1)
			}
		}
	}
	res.ExpiresAt = h.expiresAt(now)
	t.AppendEncoded(res.Token[:0])
	res.SessionID = k
	res.CSRF = sb.keys.CSRFToken(&t.SID)
	return res, nil
}

// sealedFields are the sealed hash fields of a session about to be written.
type sealedFields struct{ h, d, l, m string }

func (s *Store) sealNew(sb *sandbox, k *key, h *header, data, meta []byte, lastSeen int64) (f sealedFields, err error) {
	if f.h, err = sealHeader(sb.keys, k, h); err != nil {
		return f, err
	}
	if f.d, err = sealBytes(sb.keys, kindData, k, data); err != nil {
		return f, err
	}
	if f.l, err = sealTime(sb.keys, k, lastSeen); err != nil {
		return f, err
	}
	if len(meta) > 0 {
		f.m, err = sealBytes(sb.keys, kindMeta, k, meta)
	}
	return f, err
}

// --- reading a session -----------------------------------------------------------------------

// sess is a session as read from Redis.
type sess struct {
	sb       *sandbox
	k        key
	key      string
	rawH     string // the sealed header as stored: the compare-and-set's expected value
	h        header
	lastSeen int64
	data     string // sealed (when read)
	meta     string // sealed (when read)
	now      int64
}

func (x *sess) expiresAt() int64 { return x.h.expiresAt(x.lastSeen) }

// read loads the session stored under k. found is false when it is absent, or expired (then
// it is removed, like a read in the memory store removes an expired record).
func (s *Store) read(ctx context.Context, sb *sandbox, k *key, withData, withMeta bool) (*sess, bool, error) {
	x := &sess{sb: sb, k: *k, key: s.sessKey(sb, k)}
	fields := []string{"h", "l"}
	if withData {
		fields = append(fields, "d")
	}
	if withMeta {
		fields = append(fields, "m")
	}
	vals, err := s.rdb.HMGet(ctx, x.key, fields...).Result()
	if err != nil {
		return nil, false, err
	}
	rawH, _ := vals[0].(string)
	rawL, _ := vals[1].(string)
	if rawH == "" || rawL == "" {
		return nil, false, nil
	}
	x.rawH = rawH
	if x.h, err = openHeader(sb.keys, k, rawH); err != nil {
		return nil, false, err
	}
	if x.lastSeen, err = openTime(sb.keys, k, rawL); err != nil {
		return nil, false, err
	}
	if withData {
		x.data, _ = vals[2].(string)
	}
	if withMeta {
		x.meta, _ = vals[len(vals)-1].(string)
	}
	x.now = s.clock.NowMs()
	if x.expiresAt() <= x.now {
		// Expired by our clock before Redis's own expiry removed it (clocks differ slightly).
		if _, err := s.remove(ctx, x); err != nil {
			return nil, false, err
		}
		s.expired.Add(1)
		if s.expiredCB != nil {
			s.expiredCB(sb.name, k)
		}
		return nil, false, nil
	}
	return x, true, nil
}

// remove deletes the session and its index entry; existed tells whether it was still there.
func (s *Store) remove(ctx context.Context, x *sess) (bool, error) {
	keys := []string{x.key}
	if x.h.flags&fUser != 0 {
		keys = append(keys, s.userKey(x.sb, &x.h.user))
	}
	n, err := scriptDelete.Run(ctx, s.rdb, keys, crypto.EncodeID(&x.k)).Int64()
	return n == 1, err
}

// tokenState classifies a presented token against its session, as in the memory store.
type tokenState uint8

const (
	tokenInvalid  tokenState = iota // does not verify, or claims a future generation
	tokenCurrent                    // the current generation, verified
	tokenInGrace                    // superseded less than graceMs ago, verified
	tokenOutdated                   // superseded graceMs or more ago (or pushed out by the cap)
)

// classify decides what the presented token t is; an in-grace token is walked forward to the
// current generation (t then holds the current token) and compared with the current verifier.
func (x *sess) classify(t *crypto.Token, graceMs uint64) tokenState {
	cur := x.h.gen
	switch {
	case t.Gen > cur:
		return tokenInvalid
	case t.Gen == cur:
		if x.verifies(t) {
			return tokenCurrent
		}
		return tokenInvalid
	case cur-t.Gen > graceCap:
		return tokenOutdated
	}
	at, known := x.h.supersededAt(t.Gen)
	if !known || at <= x.now-int64(graceMs) {
		// An older generation: its sid proves its holder once held a token of this session.
		return tokenOutdated
	}
	for t.Gen < cur {
		x.sb.keys.Advance(t)
	}
	if x.verifies(t) {
		return tokenInGrace
	}
	return tokenInvalid
}

func (x *sess) verifies(t *crypto.Token) bool {
	v := x.sb.keys.Verifier(t)
	return crypto.VerifierEqual(&v, &x.h.verifier)
}

// bindingMismatch compares the client with the session's binding (keyed hashes, constant time).
func (x *sess) bindingMismatch(ip, userAgent []byte) uint8 {
	var m uint8
	if x.h.flags&fBindIP != 0 {
		got := x.sb.keys.BindIP(store.BindAddress(ip, x.h.flags&fBindSubnet != 0))
		if !crypto.VerifierEqual(&got, &x.h.ip) {
			m |= store.MismatchIP
		}
	}
	if x.h.flags&fBindUA != 0 {
		got := x.sb.keys.BindAgent(userAgent)
		if !crypto.VerifierEqual(&got, &x.h.ua) {
			m |= store.MismatchAgent
		}
	}
	return m
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

// commit writes a decision taken on x: the new header (nil: unchanged), last seen = x.now and
// the resulting expiry, and the new sealed data ("" = unchanged). retry: the session changed
// since it was read; gone: it no longer exists.
func (s *Store) commit(ctx context.Context, x *sess, h *header, data string) (retry, gone bool, err error) {
	newH := ""
	if h != nil {
		if newH, err = sealHeader(x.sb.keys, &x.k, h); err != nil {
			return false, false, err
		}
	} else {
		h = &x.h
	}
	l, err := sealTime(x.sb.keys, &x.k, x.now)
	if err != nil {
		return false, false, err
	}
	n, err := scriptCommit.Run(ctx, s.rdb, []string{x.key}, x.rawH, newH, l, ms(h.expiresAt(x.now)), data, ms(x.now)).Int64()
	if err != nil {
		return false, false, err
	}
	return n == -1, n == 0, nil
}

// --- resolve -----------------------------------------------------------------------------------

// SessionResolve looks a token up, rotating it when asked, and appends the session data to dst.
func (s *Store) SessionResolve(sandbox, token []byte, rotate bool, graceMs, minRotateMs uint64, dst []byte) (store.ResolveResult, error) {
	return s.SessionResolveWith(sandbox, token, store.ResolveOptions{Rotate: rotate, GraceMs: graceMs, MinRotateMs: minRotateMs}, dst)
}

// SessionResolveWith is SessionResolve with every S_RESOLVE option. The decision is the memory
// store's, taken on the state read from Redis and committed with a compare-and-set: of N
// concurrent resolves of one token, on any number of sidecars, exactly one rotates; the others
// find their token superseded 0 ms ago and get the same successor.
func (s *Store) SessionResolveWith(sandbox, token []byte, o store.ResolveOptions, dst []byte) (store.ResolveResult, error) {
	res := store.ResolveResult{Status: store.NotFound}
	if o.GraceMs > store.MaxGraceMs {
		return res, xerr.New(xerr.BadRequest, "graceMs must be at most %d", store.MaxGraceMs)
	}
	if o.CheckBinding && o.OnMismatch > store.MismatchLog {
		return res, xerr.New(xerr.BadRequest, "onMismatch must be 0 (revoke), 1 (reject) or 2 (log)")
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	var data string
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			res = store.ResolveResult{Status: store.NotFound}
			x, t, ok, err := s.locate(ctx, sb, token, true, false)
			if !ok || err != nil {
				return err
			}
			retry, err := s.resolveOnce(ctx, x, &t, o, &res)
			t.Wipe()
			if err != nil || !retry {
				data = x.data
				return err
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the resolve; retry")
	})
	if err != nil || res.Status != store.OK {
		if err != nil {
			return store.ResolveResult{Status: store.NotFound}, err
		}
		return res, nil
	}
	out, err := open(sb.keys, kindData, &res.SessionID, data, dst)
	if err != nil {
		return store.ResolveResult{Status: store.NotFound}, err
	}
	res.Out, res.Data = out, out[len(dst):]
	return res, nil
}

// resolveOnce takes the resolve decision on x and commits it; retry when x changed meanwhile.
func (s *Store) resolveOnce(ctx context.Context, x *sess, t *crypto.Token, o store.ResolveOptions, res *store.ResolveResult) (retry bool, err error) {
	state := x.classify(t, o.GraceMs)
	switch state {
	case tokenInvalid:
		return false, nil
	case tokenOutdated:
		if _, err := s.remove(ctx, x); err != nil {
			return false, err
		}
		s.reuse.Add(1)
		s.log.Warn("token reuse detected: session revoked", "sandbox", x.sb.name, "sessionId", crypto.EncodeID(&x.k))
		*res = store.ResolveResult{Status: store.Reused, SessionID: x.k}
		return false, nil
	}
	if o.CheckBinding {
		if m := x.bindingMismatch(o.IP, o.UserAgent); m != 0 {
			s.mismatches.Add(1)
			s.log.Info("binding mismatch", "sandbox", x.sb.name, "sessionId", crypto.EncodeID(&x.k),
				"address", m&store.MismatchIP != 0, "userAgent", m&store.MismatchAgent != 0, "action", o.OnMismatch.String())
			switch o.OnMismatch {
			case store.MismatchRevoke:
				if _, err := s.remove(ctx, x); err != nil {
					return false, err
				}
				s.revoked.Add(1)
				*res = store.ResolveResult{Status: store.Mismatched, SessionID: x.k, Mismatch: m, Revoked: true}
				return false, nil
			case store.MismatchReject:
				*res = store.ResolveResult{Status: store.Mismatched, SessionID: x.k, Mismatch: m}
				return false, nil
			}
			res.Mismatch = m
		}
	}
	// Only the current token rotates: an in-grace token gets the current one, never a new one.
	rotating := state == tokenCurrent && o.Rotate && x.h.gen < math.MaxUint32 && x.now >= x.h.issued && uint64(x.now-x.h.issued) >= o.MinRotateMs
	var nh *header
	if rotating {
		h := x.h
		h.rotate(x.sb.keys, t, x.now)
		nh = &h
	}
	retry, gone, err := s.commit(ctx, x, nh, "")
	if err != nil || retry {
		return retry, err
	}
	if gone {
		*res = store.ResolveResult{Status: store.NotFound}
		return false, nil
	}
	if rotating {
		s.rotations.Add(1)
		res.Rotated = true
		x.h = *nh
	}
	res.Status = store.OK
	res.ExpiresAt = x.h.expiresAt(x.now)
	res.SessionID = x.k
	res.Flags = x.h.sessionFlags()
	if o.WantCSRF {
		res.CSRF, res.HasCSRF = x.sb.keys.CSRFToken(&t.SID), true
	}
	t.AppendEncoded(res.Token[:0])
	return false, nil
}

// --- update, revoke ------------------------------------------------------------------------------

// SessionUpdate replaces the data of the session of a current or in-grace (store.DefaultGraceMs)
// token.
func (s *Store) SessionUpdate(sandbox, token, data []byte) (int64, bool, error) {
	return s.SessionUpdateGrace(sandbox, token, data, store.DefaultGraceMs)
}

// SessionUpdateGrace replaces the data of the session of a current token or one superseded
// less than graceMs ago. It counts as activity (slides the idle deadline) but never extends
// the absolute expiry.
func (s *Store) SessionUpdateGrace(sandbox, token, data []byte, graceMs uint64) (int64, bool, error) {
	if err := store.CheckValue(data, s.maxValue, "data"); err != nil {
		return 0, false, err
	}
	if graceMs > store.MaxGraceMs {
		return 0, false, xerr.New(xerr.BadRequest, "graceMs must be at most %d", store.MaxGraceMs)
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return 0, false, err
	}
	var exp int64
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			x, t, ok, err := s.locate(ctx, sb, token, false, false)
			if !ok || err != nil {
				return err
			}
			st := x.classify(&t, graceMs)
			t.Wipe()
			if st != tokenCurrent && st != tokenInGrace {
				return nil
			}
			sealed, err := sealBytes(sb.keys, kindData, &x.k, data)
			if err != nil {
				return err
			}
			retry, gone, err := s.commit(ctx, x, nil, sealed)
			if err != nil || gone {
				return err
			}
			if !retry {
				exp = x.h.expiresAt(x.now) // last seen is now
				return nil
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the update; retry")
	})
	if err != nil || exp == 0 {
		return 0, false, err
	}
	return exp, true, nil
}

// SessionRevoke revokes the session of any of its tokens: current, in grace or older.
func (s *Store) SessionRevoke(sandbox, token []byte) (bool, error) {
	_, existed, err := s.SessionRevokeToken(sandbox, token)
	return existed, err
}

// SessionRevokeToken is SessionRevoke that also returns the revoked session's id.
func (s *Store) SessionRevokeToken(sandbox, token []byte) (key, bool, error) {
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
		st := x.classify(&t, store.MaxGraceMs)
		t.Wipe()
		if st == tokenInvalid {
			return nil
		}
		if existed, err = s.remove(ctx, x); err != nil || !existed {
			return err
		}
		s.revoked.Add(1)
		id = x.k
		return nil
	})
	if err != nil || !existed {
		return key{}, false, err
	}
	return id, true, nil
}

// SessionRevokeID revokes a session by its public id.
func (s *Store) SessionRevokeID(sandbox, sessionID []byte) (bool, error) {
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
		if existed, err = s.remove(ctx, x); err == nil && existed {
			s.revoked.Add(1)
		}
		return err
	})
	return existed, err
}

// --- per-user operations -------------------------------------------------------------------------

// SessionList returns the live sessions of a user, oldest first.
func (s *Store) SessionList(sandbox, userID []byte) ([]store.SessionInfo, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil || len(userID) == 0 {
		return nil, err
	}
	u := sb.keys.UserKey(userID)
	var out []store.SessionInfo
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
			h, err := openHeader(sb.keys, &k, reply[i+1])
			if err != nil {
				return err
			}
			seen, err := openTime(sb.keys, &k, reply[i+2])
			if err != nil {
				return err
			}
			if h.flags&fUser == 0 || h.user != u || h.expiresAt(seen) <= now {
				continue
			}
			var meta []byte
			if reply[i+3] != "" {
				if meta, err = open(sb.keys, kindMeta, &k, reply[i+3], nil); err != nil {
					return err
				}
			}
			out = append(out, store.SessionInfo{SessionID: k, CreatedAt: h.created, LastSeenAt: seen, ExpiresAt: h.expiresAt(seen), Meta: meta})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.SessionInfo) int {
		if c := cmp.Compare(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.SessionID[:], b.SessionID[:])
	})
	return out, nil
}

// SessionRevokeAll revokes every session of a user except the one exceptToken belongs to.
func (s *Store) SessionRevokeAll(sandbox, userID, exceptToken []byte) (uint32, error) {
	ids, err := s.SessionRevokeAllIDs(sandbox, userID, exceptToken)
	return uint32(len(ids)), err
}

// SessionRevokeAllIDs revokes every session of a user except the one `except` names (a token of
// it, any generation SessionRevoke accepts, or its public id) and returns the ids revoked.
func (s *Store) SessionRevokeAllIDs(sandbox, userID, except []byte) ([]key, error) {
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
			if ok && x.classify(&t, store.MaxGraceMs) != tokenInvalid {
				keep = crypto.EncodeID(&x.k)
			}
			t.Wipe()
		}
		removed, err := scriptRevokeAll.Run(ctx, s.rdb, []string{s.userKey(sb, &u)}, s.bucketPrefix(sb, u[0], "s"), keep).StringSlice()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, id := range removed {
			if k, ok := crypto.DecodeID([]byte(id)); ok {
				ids = append(ids, k)
				s.revoked.Add(1)
			}
		}
		return nil
	})
	return ids, err
}

// --- regenerate ----------------------------------------------------------------------------------

// SessionRegenerate replaces the session of a current or in-grace token by a new session (new
// sid, token, public id and CSRF token) that keeps everything but the identity (see the memory
// store). The old session's removal and the new one's insertion are one script: the new sid is
// drawn in the old one's bucket, so both are in the same hash slot.
func (s *Store) SessionRegenerate(sandbox, token []byte, graceMs uint64, keepData bool, data []byte) (store.RegenerateResult, error) {
	res := store.RegenerateResult{Status: store.NotFound}
	if graceMs > store.MaxGraceMs {
		return res, xerr.New(xerr.BadRequest, "graceMs must be at most %d", store.MaxGraceMs)
	}
	if keepData {
		if len(data) != 0 {
			return res, xerr.New(xerr.BadRequest, "data must be empty when keepData is set")
		}
	} else if err := store.CheckValue(data, s.maxValue, "data"); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			x, t, ok, err := s.locate(ctx, sb, token, keepData, true)
			if !ok || err != nil {
				return err
			}
			st := x.classify(&t, graceMs)
			t.Wipe()
			if st != tokenCurrent && st != tokenInGrace {
				return nil
			}
			retry, err := s.regenerateOnce(ctx, x, keepData, data, &res)
			if err != nil || !retry {
				return err
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the regenerate; retry")
	})
	if err != nil {
		return store.RegenerateResult{Status: store.NotFound}, err
	}
	return res, nil
}

func (s *Store) regenerateOnce(ctx context.Context, x *sess, keepData bool, data []byte, res *store.RegenerateResult) (retry bool, err error) {
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
	h := x.h
	h.gen, h.hist = 0, nil
	h.issued = x.now
	h.verifier = sb.keys.Verifier(&t)
	f, err := s.sealNew(sb, &k, &h, data, meta, x.now)
	if err != nil {
		return false, err
	}
	keys := []string{x.key, s.sessKey(sb, &k)}
	if h.flags&fUser != 0 {
		keys = append(keys, s.userKey(sb, &h.user))
	}
	n, err := scriptRegenerate.Run(ctx, s.rdb, keys, x.rawH, f.h, f.d, f.l, f.m, ms(h.expiresAt(x.now)),
		crypto.EncodeID(&x.k), crypto.EncodeID(&k), ms(h.created)).Int64()
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
	*res = store.RegenerateResult{Status: store.OK, SessionID: k, ExpiresAt: h.expiresAt(x.now),
		CSRF: sb.keys.CSRFToken(&t.SID), Flags: h.sessionFlags(), OldID: x.k}
	t.AppendEncoded(res.Token[:0])
	return false, nil
}
