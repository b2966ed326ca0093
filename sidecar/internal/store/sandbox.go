package store

import (
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
	dev   map[key][]byte   // sealed device parts of device-bound sessions (device.go)
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
	sh.dev = make(map[key][]byte)
	sh.exp = nil
	sh.stale, sh.bytes, sh.kvPeak, sh.sessPeak = 0, 0, 0, 0
}

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
	if r.flags()&flagDevice != 0 {
		delete(sh.dev, *k)
	}
	delete(sh.sess, *k)
	sh.mem.release(l)
	sh.stale++
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

func (sh *shard) notePeaks() {
	if len(sh.kv) > sh.kvPeak {
		sh.kvPeak = len(sh.kv)
	}
	if len(sh.sess) > sh.sessPeak {
		sh.sessPeak = len(sh.sess)
	}
}
