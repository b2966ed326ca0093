package redisstore

import (
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// The scenarios of internal/storetest, run against Redis and a Redis Cluster (internal/store runs
// them against the memory store): the same calls must give the same answers.

// TestConformance runs every storetest scenario (as a subtest) against Redis and the cluster.
func TestConformance(t *testing.T) { storetest.RunAll(t, eachShared) }

// TestKVExpiryRealTime: Redis expires KV records by its own clock, so this one uses real time.
func TestKVExpiryRealTime(t *testing.T) {
	for _, k := range allKinds() {
		t.Run(k.name, func(t *testing.T) {
			e := k.env(t, session.NewSystemClock())
			s := e.open()
			// 500 ms: the calls up to the "gone too early" check have that long on a loaded
			// machine (Redis round trips under the race detector).
			s.KVSet(noDL, sbA, []byte("short"), []byte("v"), 500)
			s.KVSet(noDL, sbA, []byte("touched"), []byte("v"), 10_000)
			if _, found, _ := s.KVTouch(noDL, sbA, []byte("touched"), 500); !found {
				t.Fatal("touch")
			}
			if _, _, found, _ := s.KVGet(sbA, []byte("short"), nil); !found {
				t.Fatal("gone too early")
			}
			time.Sleep(1200 * time.Millisecond) // the memory store's expirer sweeps every second
			if m, ok := s.(*store.Store); ok {
				m.Expire()
			}
			for _, name := range []string{"short", "touched"} {
				if _, _, found, _ := s.KVGet(sbA, []byte(name), nil); found {
					t.Fatalf("%s found after its ttl", name)
				}
				if ok, _ := s.KVHas(sbA, []byte(name)); ok {
					t.Fatalf("%s: has after its ttl", name)
				}
			}
		})
	}
}
