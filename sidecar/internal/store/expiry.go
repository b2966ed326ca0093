package store

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

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

// pruneHist drops the history entries no grace window can need any more.
func (sh *shard) pruneHist(now int64) {
	for k, h := range sh.hist {
		l, ok := sh.sess[k]
		if !ok {
			delete(sh.hist, k)
			continue
		}
		r := sessRec(sh.mem.rec(l))
		st := session.State{Created: r.created(), Older: h}
		st.PruneOlder(now)
		sh.setHistory(&k, r, st.Older)
	}
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
	if len(sh.dev) == 0 {
		sh.dev = make(map[key][]byte)
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

// Expire removes every expired record of every sandbox and releases memory. The background
// expirer calls it periodically; tests call it with an injected clock.
func (s *Store) Expire() int {
	now := s.clock.NowMs()
	n := 0
	for _, sb := range s.sandboxes.All() {
		for i := range sb.shards {
			n += sb.expire(&sb.shards[i], now)
		}
	}
	s.m.Expired.Add(uint64(n))
	return n
}
