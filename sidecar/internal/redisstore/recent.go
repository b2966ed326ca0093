package redisstore

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// recent remembers the sealed header and last-seen blobs (fields h and l, as stored: the
// sidecar keeps nothing in plaintext) of the sessions this Store recently read or wrote, so a
// resolve can decide on them and commit with the read in one script call (scriptResolve)
// instead of a read and then a commit. The compare-and-set on h makes a stale entry harmless:
// the script then writes nothing and returns the current fields, which cost no more round
// trips than today's read.
//
// Bounded: recentShards maps of at most recentShardCap entries, each under its own mutex; a
// full shard drops an entry chosen at random (Go's map iteration order) to make room.
//
// Adaptive: whether the cache is used is decided from the recent hit rate (an entry whose h is
// what Redis holds), measured on every resolve, used or not. Behind a balancer that spreads one
// client's requests over several instances, each instance's entries are mostly stale (another
// instance rotated the session meanwhile); the Store then goes back to reading first, so a
// miss never costs the heavier script for nothing.
type recent struct {
	seed   maphash.Seed
	shards [recentShards]recentShard

	window  atomic.Uint64 // hits << 32 | samples, of the current window
	enabled atomic.Bool
}

const (
	recentShards   = 16
	recentShardCap = 1024 // 16k entries in all
	// recentWindow resolves decide whether the cache is used for the next ones: at least
	// recentMinHits of them must have found their session's current h in the cache.
	recentWindow  = 256
	recentMinHits = recentWindow / 2
)

type recentShard struct {
	mu sync.Mutex
	m  map[string]recentEntry
}

type recentEntry struct{ h, l string }

func newRecent() *recent {
	r := &recent{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = make(map[string]recentEntry)
	}
	r.enabled.Store(true)
	return r
}

func (r *recent) shard(key string) *recentShard {
	return &r.shards[maphash.String(r.seed, key)%recentShards]
}

// get returns the entry of the session stored under key.
func (r *recent) get(key string) (recentEntry, bool) {
	sh := r.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	sh.mu.Unlock()
	return e, ok
}

// put records the fields of the session under key as just read or written.
func (r *recent) put(key, h, l string) {
	sh := r.shard(key)
	sh.mu.Lock()
	if _, ok := sh.m[key]; !ok && len(sh.m) >= recentShardCap {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[key] = recentEntry{h, l}
	sh.mu.Unlock()
}

// drop forgets the session under key (removed).
func (r *recent) drop(key string) {
	sh := r.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// sample counts one resolve: hit when the cache held the header Redis holds.
func (r *recent) sample(hit bool) {
	d := uint64(1)
	if hit {
		d += 1 << 32
	}
	w := r.window.Add(d)
	if w&(1<<32-1) != recentWindow {
		return
	}
	r.window.Add(-w) // exactly one caller sees the window full: it starts the next one
	r.enabled.Store(w>>32 >= recentMinHits)
}

// use reports whether resolves should try the cache first.
func (r *recent) use() bool { return r.enabled.Load() }

// size is the number of entries (tests).
func (r *recent) size() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
