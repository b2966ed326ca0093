package store

import "encoding/binary"

// arena is a shard's record memory: a log of records appended into chunks of bytes. Records
// hold no Go pointers, so the garbage collector never scans them (a million sessions cost it
// nothing), and each record costs exactly its size, with no allocator size-class rounding and
// no per-record object header. Freed records leave holes; a chunk whose records are all dead
// is dropped, and compaction moves the survivors of mostly-dead chunks so memory goes back
// down after mass expiry or churn.
//
// Every record starts with the common header: u32 total length, u8 kind, 16-byte map key.
// A location is chunk index << 32 | offset. All access happens under the owning shard's lock.
type arena struct {
	chunks []chunk
	free   []int32 // indices of dropped chunks, for reuse
	cur    int     // chunk records are appended to; -1: none
	size   int64   // bytes of all chunks
	live   int64   // bytes of live records
}

type chunk struct {
	b         []byte
	off       int  // append offset
	live      int  // bytes of live records
	dedicated bool // holds one large record
}

const (
	recLen  = 0
	recKind = 4
	recKey  = 5
	recHdr  = 21 // common header size

	minChunk = 4 << 10
	maxChunk = 256 << 10
	// Records above this size get a chunk of their own.
	maxPacked = 32 << 10
)

func newArena() arena { return arena{cur: -1} }

func loc(idx, off int) uint64   { return uint64(idx)<<32 | uint64(off) }
func locIdx(l uint64) int       { return int(l >> 32) }
func locOff(l uint64) int       { return int(uint32(l)) }
func recSize(r []byte) int      { return int(binary.LittleEndian.Uint32(r[recLen:])) }
func recKeyOf(r []byte) (k key) { copy(k[:], r[recKey:recKey+16]); return }

// rec returns the record at l (valid until the next alloc, free or compaction).
func (a *arena) rec(l uint64) []byte {
	c := &a.chunks[locIdx(l)]
	off := locOff(l)
	n := int(binary.LittleEndian.Uint32(c.b[off:]))
	return c.b[off : off+n : off+n]
}

// alloc reserves n bytes (n >= recHdr), writes the common header and returns the record.
func (a *arena) alloc(n int, kind uint8, k *key) (uint64, []byte) {
	idx := a.cur
	if n > maxPacked {
		idx = a.newChunk(n, true)
	} else if idx < 0 || a.chunks[idx].off+n > len(a.chunks[idx].b) {
		a.retireCur()
		idx = a.newChunk(n, false)
		a.cur = idx
	}
	c := &a.chunks[idx]
	off := c.off
	c.off += n
	c.live += n
	a.live += int64(n)
	r := c.b[off : off+n : off+n]
	binary.LittleEndian.PutUint32(r[recLen:], uint32(n))
	r[recKind] = kind
	copy(r[recKey:], k[:])
	return loc(idx, off), r
}

// newChunk adds a chunk able to hold n bytes. Packed chunks grow with the arena (an eighth of
// its size, 4 KiB to 256 KiB), so small sandboxes stay small and large ones use few chunks.
func (a *arena) newChunk(n int, dedicated bool) int {
	size := n
	if !dedicated {
		size = minChunk
		for size < maxChunk && int64(size) < a.size/8 {
			size *= 2
		}
		size = max(size, n)
	}
	c := chunk{b: make([]byte, size), dedicated: dedicated}
	a.size += int64(size)
	if len(a.free) > 0 {
		idx := int(a.free[len(a.free)-1])
		a.free = a.free[:len(a.free)-1]
		a.chunks[idx] = c
		return idx
	}
	a.chunks = append(a.chunks, c)
	return len(a.chunks) - 1
}

// retireCur stops appending to the current chunk, dropping it if nothing in it is live.
func (a *arena) retireCur() {
	if a.cur >= 0 && a.chunks[a.cur].live == 0 {
		a.drop(a.cur)
	}
	a.cur = -1
}

func (a *arena) drop(idx int) {
	c := &a.chunks[idx]
	a.size -= int64(len(c.b))
	*c = chunk{}
	a.free = append(a.free, int32(idx))
	if idx == a.cur {
		a.cur = -1
	}
}

// release frees the record at l.
func (a *arena) release(l uint64) {
	idx := locIdx(l)
	c := &a.chunks[idx]
	n := recSize(c.b[locOff(l):])
	c.live -= n
	a.live -= int64(n)
	if c.live > 0 {
		return
	}
	if idx == a.cur {
		c.off = 0 // empty: append from the start again
		return
	}
	a.drop(idx)
}

// dropIdleCur drops the current chunk if it holds nothing live (after a mass expiry), so the
// next one is sized for what the arena holds now.
func (a *arena) dropIdleCur() {
	if a.cur >= 0 && a.chunks[a.cur].live == 0 {
		a.drop(a.cur)
	}
}

// wasted is the memory held by dead records (free space at the end of the current chunk is
// not waste: it is where the next records go).
func (a *arena) wasted() int64 {
	w := a.size - a.live
	if a.cur >= 0 {
		c := &a.chunks[a.cur]
		w -= int64(len(c.b) - c.off)
	}
	return w
}

// needsCompaction: more than a quarter of the arena is dead records.
func (a *arena) needsCompaction() bool {
	return a.size >= 2*minChunk && a.wasted() > a.size/4
}

// compact moves the live records out of every packed chunk that is at most half live, then
// drops those chunks. isLive reports whether the record at a location is the one its map
// points to; moved tells the owner the record's new location.
func (a *arena) compact(isLive func(kind uint8, k *key, l uint64) bool, moved func(kind uint8, k *key, l uint64)) {
	a.retireCur()
	for idx := range a.chunks {
		c := &a.chunks[idx]
		if c.b == nil || idx == a.cur || c.dedicated || c.live*2 > len(c.b) {
			continue
		}
		for off := 0; off < c.off; {
			n := int(binary.LittleEndian.Uint32(c.b[off:]))
			from := loc(idx, off)
			r := c.b[off : off+n]
			kind, k := r[recKind], recKeyOf(r)
			if isLive(kind, &k, from) {
				to, dst := a.alloc(n, kind, &k)
				c = &a.chunks[idx] // alloc may have grown a.chunks
				copy(dst, c.b[off:off+n])
				c.live -= n
				a.live -= int64(n)
				moved(kind, &k, to)
			}
			off += n
		}
		if idx != a.cur {
			a.drop(idx)
		}
	}
}
