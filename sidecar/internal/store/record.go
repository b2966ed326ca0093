package store

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// Record layouts, after the arena's common header (length, kind, key).

const (
	kindKV   uint8 = 1
	kindSess uint8 = 2
)

// KV record: created i64, expires i64, sched u32, then sealed(value || name || u16 len(name)).
const (
	kvCreated = recHdr
	kvExpires = kvCreated + 8
	kvSched   = kvExpires + 8
	kvHdr     = kvSched + 4
)

type kvRec []byte

func (r kvRec) created() int64     { return int64(binary.LittleEndian.Uint64(r[kvCreated:])) }
func (r kvRec) expires() int64     { return int64(binary.LittleEndian.Uint64(r[kvExpires:])) }
func (r kvRec) setExpires(t int64) { binary.LittleEndian.PutUint64(r[kvExpires:], uint64(t)) }
func (r kvRec) sched() uint32      { return binary.LittleEndian.Uint32(r[kvSched:]) }
func (r kvRec) sealed() []byte     { return r[kvHdr:] }

func kvRecSize(name, value []byte) int {
	return kvHdr + crypto.SealedSize(crypto.KVSize(name, value))
}

// Session record: verifier [16], created i64, then u32 offsets in ms from created (issued,
// presented, prevPresented, lastSeen, absolute expiry), sched u32, gen u32, idleMs u32, flags
// u8, [user key 16 if FlagUser], [bound address hash 16 if FlagBindIP], [bound user-agent hash
// 16 if FlagBindUA], then sealed(data || meta || u32 len(meta)). Offsets fit: nothing outlives
// created + 5 days (432,000,000 ms < 2^32). presented is notPresented until the current
// generation is first presented. The optional parts are fixed when the record is created
// (their flags never change afterwards), so the header size is a function of the flags. The
// flags are session.Flag* plus flagHist; the history beyond prevPresented (session.State.Older)
// lives in the shard's hist map, for the few sessions that have one.
const (
	sVerifier      = recHdr
	sCreated       = sVerifier + 16
	sIssued        = sCreated + 8
	sPresented     = sIssued + 4
	sPrevPresented = sPresented + 4
	sLastSeen      = sPrevPresented + 4
	sAbsExp        = sLastSeen + 4
	sSched         = sAbsExp + 4
	sGen           = sSched + 4
	sIdle          = sGen + 4
	sFlags         = sIdle + 4
	sHdr           = sFlags + 1
	sUser          = sHdr
	sessLenSize    = 4 // the sealed pair's length field (crypto.SealPair)

	flagHist     uint8  = 2 // the shard's hist map has an entry for this session
	notPresented uint32 = 1<<32 - 1
)

type sessRec []byte

// sessHdrSize is the header size of a session record with these flags.
func sessHdrSize(flags uint8) int {
	n := sHdr
	for _, f := range [...]uint8{session.FlagUser, session.FlagBindIP, session.FlagBindUA} {
		if flags&f != 0 {
			n += 16
		}
	}
	return n
}

func sessRecSize(flags uint8, data, meta []byte) int {
	return sessHdrSize(flags) + crypto.SealedSize(crypto.PairSize(data, meta, sessLenSize))
}

// optOffset is where the optional 16-byte header part of flag f starts (f must be set).
func optOffset(flags, f uint8) int {
	n := sHdr
	for _, g := range [...]uint8{session.FlagUser, session.FlagBindIP, session.FlagBindUA} {
		if g == f {
			return n
		}
		if flags&g != 0 {
			n += 16
		}
	}
	panic("optOffset: not an optional header part")
}

func (r sessRec) u32(off int) uint32      { return binary.LittleEndian.Uint32(r[off:]) }
func (r sessRec) put32(off int, v uint32) { binary.LittleEndian.PutUint32(r[off:], v) }
func (r sessRec) created() int64          { return int64(binary.LittleEndian.Uint64(r[sCreated:])) }
func (r sessRec) at(off int) int64        { return r.created() + int64(r.u32(off)) }
func (r sessRec) setAt(off int, t int64)  { r.put32(off, uint32(t-r.created())) }
func (r sessRec) lastSeen() int64         { return r.at(sLastSeen) }
func (r sessRec) flags() uint8            { return r[sFlags] }
func (r sessRec) hasUser() bool           { return r[sFlags]&session.FlagUser != 0 }
func (r sessRec) sealed() []byte          { return r[sessHdrSize(r.flags()):] }
func (r sessRec) user() (u key)           { copy(u[:], r[sUser:sUser+16]); return }
func (r sessRec) opt(f uint8) (d key)     { o := optOffset(r.flags(), f); copy(d[:], r[o:o+16]); return }
func (r sessRec) setOpt(f uint8, d *key)  { o := optOffset(r.flags(), f); copy(r[o:o+16], d[:]) }
func (r sessRec) setFlag(f uint8, on bool) {
	if on {
		r[sFlags] |= f
	} else {
		r[sFlags] &^= f
	}
}

// expiresAt is the effective expiry: the absolute one, or the idle deadline if earlier.
func (r sessRec) expiresAt() int64 {
	e := r.at(sAbsExp)
	if idle := r.u32(sIdle); idle > 0 {
		if d := r.lastSeen() + int64(idle); d < e {
			e = d
		}
	}
	return e
}

// state reads the record into st, with its history hist (the shard's map entry, if flagHist).
func (r sessRec) state(st *session.State, hist []uint32) {
	created := r.created()
	flags := r.flags()
	*st = session.State{Flags: flags & session.AllFlags, Gen: r.u32(sGen), Created: created,
		Issued: r.at(sIssued), PrevPresented: r.at(sPrevPresented), AbsExp: r.at(sAbsExp), IdleMs: r.u32(sIdle)}
	copy(st.Verifier[:], r[sVerifier:])
	if p := r.u32(sPresented); p != notPresented {
		st.Presented = created + int64(p)
	}
	st.Older = hist
	if flags&session.FlagUser != 0 {
		st.User = r.user()
	}
	if flags&session.FlagBindIP != 0 {
		st.BoundIP = r.opt(session.FlagBindIP)
	}
	if flags&session.FlagBindUA != 0 {
		st.BoundUA = r.opt(session.FlagBindUA)
	}
}

// initState writes a new record's header from st (every field but lastSeen and sched).
func (r sessRec) initState(st *session.State) {
	binary.LittleEndian.PutUint64(r[sCreated:], uint64(st.Created))
	r[sFlags] = st.Flags
	r.put32(sAbsExp, uint32(st.AbsExp-st.Created))
	r.put32(sIdle, st.IdleMs)
	if st.Flags&session.FlagUser != 0 {
		r.setOpt(session.FlagUser, &st.User)
	}
	if st.Flags&session.FlagBindIP != 0 {
		r.setOpt(session.FlagBindIP, &st.BoundIP)
	}
	if st.Flags&session.FlagBindUA != 0 {
		r.setOpt(session.FlagBindUA, &st.BoundUA)
	}
	r.setRotation(st)
}

// setRotation writes the rotation state of st into the record (its history beyond
// prevPresented is the caller's: see shard.setHistory).
func (r sessRec) setRotation(st *session.State) {
	copy(r[sVerifier:], st.Verifier[:])
	r.put32(sGen, st.Gen)
	r.setAt(sIssued, st.Issued)
	r.setAt(sPrevPresented, max(st.PrevPresented, st.Created))
	if st.Presented == 0 {
		r.put32(sPresented, notPresented)
	} else {
		r.setAt(sPresented, st.Presented)
	}
}

// setHistory keeps the session's history beyond prevPresented (session.State.Older): in the
// shard's hist map, only while it has one. Caller holds sh.mu.
func (sh *shard) setHistory(k *key, r sessRec, older []uint32) {
	if len(older) > 0 {
		sh.hist[*k] = older
		r.setFlag(flagHist, true)
	} else if r.flags()&flagHist != 0 {
		delete(sh.hist, *k)
		r.setFlag(flagHist, false)
	}
}

// sealSession seals data || meta || u32 len(meta) in place into the record's sealed area.
func sealSession(keys *crypto.SandboxKeys, k *key, rec sessRec, data, meta []byte) error {
	_, err := keys.SealPair(rec[sessHdrSize(rec.flags()):len(rec)-crypto.TagSize], crypto.KindSession, k, data, meta, sessLenSize)
	return err
}

// openSession appends the plaintext to dst and splits it: out is dst extended by the data only;
// data and meta alias the plaintext (meta lives past len(out), in out's capacity).
func openSession(keys *crypto.SandboxKeys, k *key, sealed, dst []byte) (out, data, meta []byte, err error) {
	return keys.OpenPair(dst, sealed, crypto.KindSession, k, sessLenSize)
}

// sealKV seals value || name || u16 len(name) in place into the record's sealed area.
func sealKV(keys *crypto.SandboxKeys, k *key, rec, name, value []byte) error {
	_, err := keys.SealKV(rec[kvHdr:len(rec)-crypto.TagSize], crypto.KindKV, k, name, value)
	return err
}
