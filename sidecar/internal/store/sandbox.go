package store

import (
	"encoding/binary"
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// nShards splits each sandbox's records over independently locked shards, so concurrent
// requests rarely contend. Records go to a shard by the first byte of their keyed hash.
const nShards = 64

// nUserShards splits the per-user index the same way, by the user's keyed hash.
const nUserShards = 16

// shrinkFloor: maps and heaps smaller than this are never rebuilt (not worth it).
const shrinkFloor = 128

type key = crypto.Digest

type sandbox struct {
	name   string
	keys   *crypto.SandboxKeys
	base   int64 // the store's time origin (ms) for expiry-heap seconds
	shards [nShards]shard
	users  [nUserShards]userShard
	// limits serialise the operations that add a session to a user (create, regenerate), per
	// user shard, so counting a user's sessions and adding one is atomic (maxSessionsPerUser).
	// Lock order: limits, then a record shard, then a user shard.
	limits    [nUserShards]sync.Mutex
	onExpired func(sandbox string, sessionID *crypto.Digest)
	journal   Journal // nil: persistence off (see persist.go)
}

func newSandbox(name string, keys *crypto.SandboxKeys, base int64) *sandbox {
	sb := &sandbox{name: name, keys: keys, base: base}
	for i := range sb.shards {
		sb.shards[i].init()
	}
	for i := range sb.users {
		sb.users[i].m = make(map[key][]key)
	}
	return sb
}

func (sb *sandbox) shard(k *key) *shard { return &sb.shards[k[0]%nShards] }

// shard holds the records whose keyed hash falls in it. Every field is guarded by mu. The maps
// hold arena locations (plain integers), so neither they nor the arena contain pointers.
type shard struct {
	mu    sync.Mutex
	mem   arena
	kv    map[key]uint64
	sess  map[key]uint64
	hist  map[key][]uint32 // issue times of older generations of fast-rotating sessions (rare)
	exp   expHeap
	stale int   // heap entries that no longer match a record (deleted or rescheduled)
	bytes int64 // sealed bytes held
	// largest len(kv) / len(sess) since the map was last rebuilt
	kvPeak, sessPeak int
}

// init empties the shard (its lock, held or not, is left alone).
func (sh *shard) init() {
	sh.mem = newArena()
	sh.kv = make(map[key]uint64)
	sh.sess = make(map[key]uint64)
	sh.hist = make(map[key][]uint32)
	sh.exp = nil
	sh.stale, sh.bytes, sh.kvPeak, sh.sessPeak = 0, 0, 0, 0
}

// --- record layouts (after the arena's common header: length, kind, key) ---------------------

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

// Session record: verifier [16], created i64, then u32 offsets in ms from created (issued,
// lastSeen, absolute expiry), sched u32, gen u32, idleMs u32, flags u8, [user key 16 if
// flagUser], [bound address hash 16 if flagBindIP], [bound user-agent hash 16 if flagBindUA],
// then sealed(data || meta || u32 len(meta)). Offsets fit: nothing outlives created + 5 days
// (432,000,000 ms < 2^32). The optional parts are fixed when the record is created (their
// flags never change afterwards), so the header size is a function of the flags.
const (
	sVerifier = recHdr
	sCreated  = sVerifier + 16
	sIssued   = sCreated + 8
	sLastSeen = sIssued + 4
	sAbsExp   = sLastSeen + 4
	sSched    = sAbsExp + 4
	sGen      = sSched + 4
	sIdle     = sGen + 4
	sFlags    = sIdle + 4
	sHdr      = sFlags + 1
	sUser     = sHdr

	flagUser       uint8 = 1  // the record carries a user key (it is in the per-user index)
	flagHist       uint8 = 2  // the shard's hist map has an entry for this session
	flagBindIP     uint8 = 4  // the record carries the keyed hash of the client address
	flagBindUA     uint8 = 8  // the record carries the keyed hash of the user agent
	flagBindSubnet uint8 = 16 // the address hash is of the /24 (IPv4) or /64 (IPv6) prefix
	flagRemember   uint8 = 32 // remember-me: the client keeps a persistent cookie

	// sizeFlags are the flags that add optional header parts.
	sizeFlags = flagUser | flagBindIP | flagBindUA
)

type sessRec []byte

// sessHdrSize is the header size of a session record with these flags.
func sessHdrSize(flags uint8) int {
	n := sHdr
	for _, f := range [...]uint8{flagUser, flagBindIP, flagBindUA} {
		if flags&f != 0 {
			n += 16
		}
	}
	return n
}

// optOffset is where the optional 16-byte header part of flag f starts (f must be set).
func optOffset(flags, f uint8) int {
	n := sHdr
	for _, g := range [...]uint8{flagUser, flagBindIP, flagBindUA} {
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
func (r sessRec) issued() int64           { return r.at(sIssued) }
func (r sessRec) lastSeen() int64         { return r.at(sLastSeen) }
func (r sessRec) gen() uint32             { return r.u32(sGen) }
func (r sessRec) flags() uint8            { return r[sFlags] }
func (r sessRec) hasUser() bool           { return r[sFlags]&flagUser != 0 }
func (r sessRec) sealed() []byte          { return r[sessHdrSize(r.flags()):] }
func (r sessRec) verifier() (v key)       { copy(v[:], r[sVerifier:]); return }
func (r sessRec) setVerifier(v *key)      { copy(r[sVerifier:], v[:]) }
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

// --- expiry heap -------------------------------------------------------------------------------

// expEntry schedules a look at a record at a whole second (since the store's origin, rounded
// up so that a record is always due by then). The top bit of sec is the kind (set: session).
// A record has exactly one live entry, the one whose second equals the record's sched;
// others are stale and skipped when popped.
type expEntry struct {
	sec uint32
	key key
}

const sessBit = 1 << 31

func (e expEntry) second() uint32 { return e.sec &^ sessBit }
func (e expEntry) kind() uint8 {
	if e.sec&sessBit != 0 {
		return kindSess
	}
	return kindKV
}

// expHeap is a binary min-heap by second (typed, so pushing allocates nothing).
type expHeap []expEntry

func (h *expHeap) push(e expEntry) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].second() <= a[i].second() {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *expHeap) pop() expEntry {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	a.down(0)
	*h = a
	return top
}

func (h expHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].second() < h[l].second() {
			m = r
		}
		if h[i].second() <= h[m].second() {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h expHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// second converts a time to the expiry heap's whole seconds, rounding up.
func (sb *sandbox) second(t int64) uint32 {
	d := t - sb.base
	if d <= 0 {
		return 0
	}
	return uint32(min((d+999)/1000, sessBit-1))
}

// elapsedSeconds converts a time to the heap's whole seconds, rounding down.
func (sb *sandbox) elapsedSeconds(t int64) uint32 {
	d := t - sb.base
	if d <= 0 {
		return 0
	}
	return uint32(min(d/1000, sessBit-1))
}

// schedule makes sure the record is looked at no later than its expiry at. fresh: the record
// has no live entry yet. Expiry that moves later (idle sliding) needs nothing: the existing
// entry fires early and reschedules.
// The record keeps the second of its live entry at schedOff.
func (sb *sandbox) schedule(sh *shard, r []byte, schedOff int, at int64, k *key, kind uint8, fresh bool) {
	sec := sb.second(at)
	if !fresh {
		if binary.LittleEndian.Uint32(r[schedOff:]) <= sec {
			return
		}
		sh.stale++
	}
	binary.LittleEndian.PutUint32(r[schedOff:], sec)
	if kind == kindSess {
		sec |= sessBit
	}
	sh.exp.push(expEntry{sec: sec, key: *k})
}

// --- per-user index ----------------------------------------------------------------------------

// userShard maps a user's keyed hash to the map keys of the user's sessions.
type userShard struct {
	mu sync.Mutex
	m  map[key][]key
}

func (sb *sandbox) userShard(u *key) *userShard { return &sb.users[u[0]%nUserShards] }

// limitLock is the lock serialising additions of sessions to user u (see sandbox.limits).
func (sb *sandbox) limitLock(u *key) *sync.Mutex { return &sb.limits[u[0]%nUserShards] }

// indexAdd and indexRemove keep the per-user index exact. Lock order: a record shard's lock may
// be held while taking a user shard's lock, never the reverse.
func (sb *sandbox) indexAdd(u, sid *key) {
	us := sb.userShard(u)
	us.mu.Lock()
	us.m[*u] = append(us.m[*u], *sid)
	us.mu.Unlock()
}

func (sb *sandbox) indexRemove(u, sid *key) {
	us := sb.userShard(u)
	us.mu.Lock()
	list := us.m[*u]
	for i := range list {
		if list[i] == *sid {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(us.m, *u)
	} else {
		us.m[*u] = list
	}
	us.mu.Unlock()
}

func (sb *sandbox) indexList(u *key) []key {
	us := sb.userShard(u)
	us.mu.Lock()
	defer us.mu.Unlock()
	return append([]key(nil), us.m[*u]...)
}

// --- removal, expiry, compaction ---------------------------------------------------------------

// removeKV deletes a KV record. Caller holds sh.mu.
func (sh *shard) removeKV(k *key, l uint64) {
	r := kvRec(sh.mem.rec(l))
	sh.bytes -= int64(len(r.sealed()))
	delete(sh.kv, *k)
	sh.mem.release(l)
	sh.stale++
}

// removeSession deletes a session and everything pointing at it. Caller holds sh.mu.
func (sb *sandbox) removeSession(sh *shard, k *key, l uint64) {
	r := sessRec(sh.mem.rec(l))
	sh.bytes -= int64(len(r.sealed()))
	if r.hasUser() {
		u := r.user()
		sb.indexRemove(&u, k)
	}
	if r.flags()&flagHist != 0 {
		delete(sh.hist, *k)
	}
	delete(sh.sess, *k)
	sh.mem.release(l)
	sh.stale++
}

// expire removes every record of the shard whose expiry has passed, then gives memory back
// when the shard has shrunk well below its peak. Returns the number removed.
func (sb *sandbox) expire(sh *shard, now int64) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Entries are due once their second has fully passed: an entry is for the second rounded
	// up from its record's expiry, so that record has expired by then unless its expiry moved
	// later, and then it is pushed again for a second still in the future.
	nowSec := sb.elapsedSeconds(now)
	n := 0
	for len(sh.exp) > 0 && sh.exp[0].second() <= nowSec {
		e := sh.exp.pop()
		sec := e.second()
		switch e.kind() {
		case kindKV:
			l, ok := sh.kv[e.key]
			if !ok || kvRec(sh.mem.rec(l)).sched() != sec {
				sh.stale--
				continue
			}
			r := kvRec(sh.mem.rec(l))
			if r.expires() <= now {
				sh.removeKV(&e.key, l)
				sh.stale-- // the entry just popped was the live one
				n++
				continue
			}
			sb.schedule(sh, r, kvSched, r.expires(), &e.key, kindKV, true)
		case kindSess:
			l, ok := sh.sess[e.key]
			if !ok || sessRec(sh.mem.rec(l)).u32(sSched) != sec {
				sh.stale--
				continue
			}
			r := sessRec(sh.mem.rec(l))
			if at := r.expiresAt(); at > now {
				sb.schedule(sh, r, sSched, at, &e.key, kindSess, true)
				continue
			}
			sb.removeSession(sh, &e.key, l)
			sh.stale--
			n++
			reportExpired(sb.onExpired, sb.name, e.key)
		}
	}
	sh.pruneHist(now)
	sh.compact()
	return n
}

// pruneHist drops issue times older than the largest grace window a request may ask for.
func (sh *shard) pruneHist(now int64) {
	for k, h := range sh.hist {
		l, ok := sh.sess[k]
		if !ok {
			delete(sh.hist, k)
			continue
		}
		r := sessRec(sh.mem.rec(l))
		if h = pruneHistList(h, r, now); len(h) == 0 {
			delete(sh.hist, k)
			r.setFlag(flagHist, false)
		} else {
			sh.hist[k] = h
		}
	}
}

func pruneHistList(h []uint32, r sessRec, now int64) []uint32 {
	i := 0
	for i < len(h) && r.created()+int64(h[i]) <= now-MaxGraceMs {
		i++
	}
	return h[i:]
}

// compact gives memory back: it rebuilds maps and the heap once they have shrunk well below
// their peak (Go maps never shrink by themselves) and compacts the arena when a quarter of it
// is dead records.
func (sh *shard) compact() {
	if sh.kvPeak >= shrinkFloor && len(sh.kv) < sh.kvPeak/4 {
		m := make(map[key]uint64, len(sh.kv))
		for k, v := range sh.kv {
			m[k] = v
		}
		sh.kv, sh.kvPeak = m, len(m)
	}
	if sh.sessPeak >= shrinkFloor && len(sh.sess) < sh.sessPeak/4 {
		m := make(map[key]uint64, len(sh.sess))
		for k, v := range sh.sess {
			m[k] = v
		}
		sh.sess, sh.sessPeak = m, len(m)
	}
	if len(sh.hist) == 0 {
		sh.hist = make(map[key][]uint32)
	}
	live := len(sh.kv) + len(sh.sess)
	if sh.stale > shrinkFloor && sh.stale > live || cap(sh.exp) >= shrinkFloor && len(sh.exp) < cap(sh.exp)/4 {
		sh.rebuildHeap()
	}
	if sh.mem.needsCompaction() {
		sh.mem.compact(sh.isLive, sh.moved)
	}
	sh.mem.dropIdleCur()
}

func (sh *shard) isLive(kind uint8, k *key, l uint64) bool {
	if kind == kindKV {
		cur, ok := sh.kv[*k]
		return ok && cur == l
	}
	cur, ok := sh.sess[*k]
	return ok && cur == l
}

func (sh *shard) moved(kind uint8, k *key, l uint64) {
	if kind == kindKV {
		sh.kv[*k] = l
	} else {
		sh.sess[*k] = l
	}
}

// afterFree compacts the arena right away when deletes (rather than expiry) left it mostly dead.
func (sh *shard) afterFree() {
	if sh.mem.needsCompaction() {
		sh.mem.compact(sh.isLive, sh.moved)
	}
}

// rebuildHeap replaces the heap with exactly one entry per record.
func (sh *shard) rebuildHeap() {
	h := make(expHeap, 0, len(sh.kv)+len(sh.sess))
	for k, l := range sh.kv {
		r := kvRec(sh.mem.rec(l))
		h = append(h, expEntry{sec: r.sched(), key: k})
	}
	for k, l := range sh.sess {
		r := sessRec(sh.mem.rec(l))
		h = append(h, expEntry{sec: r.u32(sSched) | sessBit, key: k})
	}
	h.init()
	sh.exp, sh.stale = h, 0
}

func (sh *shard) notePeaks() {
	if len(sh.kv) > sh.kvPeak {
		sh.kvPeak = len(sh.kv)
	}
	if len(sh.sess) > sh.sessPeak {
		sh.sessPeak = len(sh.sess)
	}
}

// Expire removes every expired record of every sandbox and releases memory. The background
// expirer calls it periodically; tests call it with an injected clock.
func (s *Store) Expire() int {
	now := s.clock.NowMs()
	n := 0
	for _, sb := range s.allSandboxes() {
		for i := range sb.shards {
			n += sb.expire(&sb.shards[i], now)
		}
	}
	s.expired.Add(uint64(n))
	return n
}
