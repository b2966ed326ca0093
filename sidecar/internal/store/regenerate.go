package store

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// RegenerateResult is what S_REGENERATE replies.
type RegenerateResult struct {
	Status    Status // OK or NotFound
	Token     [crypto.TokenLength]byte
	SessionID key
	ExpiresAt int64
	CSRF      key
	Flags     uint8 // SessionFlag* bits
	OldID     key   // the id of the session that was replaced
}

// SessionRegenerate replaces the session of a current or in-grace token by a new session (new
// sid, hence a new token, a new public id and a new CSRF token) for a privilege change. The
// new session keeps everything but the identity: creation time and absolute expiry (it never
// outlives the old one), idle timeout, user, device meta, binding and remember-me, and the data
// when keepData is set (else it holds data). The old session is removed before the new one
// exists: its token and every token in its grace window are dead at once.
func (s *Store) SessionRegenerate(sandbox, token []byte, graceMs uint64, keepData bool, data []byte) (RegenerateResult, error) {
	res := RegenerateResult{Status: NotFound}
	if graceMs > MaxGraceMs {
		return res, xerr.New(xerr.BadRequest, "graceMs must be at most %d", MaxGraceMs)
	}
	if keepData {
		if len(data) != 0 {
			return res, xerr.New(xerr.BadRequest, "data must be empty when keepData is set")
		}
	} else if err := s.checkValue(data, "data"); err != nil {
		return res, err
	}
	f, ok, err := s.locateLive(sandbox, token, graceMs)
	if !ok {
		return res, err
	}
	if r := f.rec(); r.hasUser() {
		// A user's sessions are added under the user's limit lock, taken before any shard lock:
		// let go, take it, and look the token up again (it may have changed meanwhile).
		u := r.user()
		sb := f.sb
		f.release()
		lock := sb.limitLock(&u)
		lock.Lock()
		defer lock.Unlock()
		if f, ok, err = s.locateLive(sandbox, token, graceMs); !ok {
			return res, err
		}
	}
	sb := f.sb
	old := f.rec()
	created := old.created()
	hdr := sessHdrSize(old.flags())
	header := make([]byte, hdr)
	copy(header, old)
	plain, oldData, meta, err := openSession(sb.keys, &f.k, old.sealed(), nil)
	if err != nil {
		f.release()
		return res, err
	}
	defer clear(plain[:cap(plain)])
	if keepData {
		data = oldData
	}
	res.OldID = f.k
	c := sb.track(f.sh, kindSess, &f.k)
	sb.removeSession(f.sh, &f.k, f.l)
	if err := c.commit(); err != nil {
		f.release()
		return RegenerateResult{Status: NotFound}, err
	}
	f.sh.afterFree()
	f.release()

	t, k, verifier, sh, err := sb.lockNewSession()
	if err != nil {
		return res, err
	}
	defer t.Wipe()
	defer sh.mu.Unlock()
	flags := header[sFlags] &^ flagHist
	cn := sb.track(sh, kindSess, &k)
	l, rb := sh.mem.alloc(sessRecSize(flags, data, meta), kindSess, &k)
	r := sessRec(rb)
	copy(r[recHdr:hdr], header[recHdr:hdr])
	now := s.clock.NowMs()
	r.setVerifier(&verifier)
	binary.LittleEndian.PutUint64(r[sCreated:], uint64(created))
	r.put32(sGen, 0)
	r.setAt(sIssued, now)
	r.setAt(sLastSeen, now)
	r[sFlags] = flags
	if err := sealSession(sb.keys, &k, r, data, meta); err != nil {
		sh.mem.release(l)
		return res, xerr.New(xerr.Internal, "sealing failed")
	}
	sb.insertSession(sh, &k, l)
	if err := cn.commit(); err != nil {
		return RegenerateResult{Status: NotFound, OldID: res.OldID}, err
	}
	res.Status = OK
	res.ExpiresAt = r.expiresAt()
	res.SessionID = k
	res.Flags = r.sessionFlags()
	res.CSRF = sb.keys.CSRFToken(&t.SID)
	t.AppendEncoded(res.Token[:0])
	return res, nil
}

// locateLive locates the session of a current or in-grace token (which must verify). ok: the
// shard is locked and the caller must call release.
func (s *Store) locateLive(sandbox, token []byte, graceMs uint64) (f found, ok bool, err error) {
	f, ok, err = s.locate(sandbox, token)
	if !ok {
		return f, false, err
	}
	if st := f.classify(f.rec(), graceMs); st != tokenCurrent && st != tokenInGrace {
		f.release()
		return found{}, false, nil
	}
	return f, true, nil
}
