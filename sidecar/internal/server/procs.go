package server

import (
	"os"
	"runtime"
)

// With the Redis store, a request spends most of its time waiting for Redis: the sidecar's
// goroutines park and wake around each round trip, and idle Ps spin looking for them (the
// scheduler and futex wake-ups were about a fifth of the sidecar's CPU on Redis, pprof in
// bench/FINDINGS.md, H). The sidecar also shares the machine with the Node process it serves.
// So on Redis it runs on half the CPUs Go would give it (at least one): on the 2-core test
// machine this cut the sidecars' CPU per request by about a fifth at the same req/s (J). The
// memory store's requests are CPU work without waits, and measured the same either way, so it
// keeps Go's default. An operator's GOMAXPROCS (passed to the child, see sidecar-launch.ts)
// always wins.

// redisProcs is the P count for the Redis store given what Go would use.
func redisProcs(available int) int { return max(1, available/2) }

// limitRedisProcs applies redisProcs unless the environment sets GOMAXPROCS; it returns the
// P count in effect.
func limitRedisProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := redisProcs(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(n)
	return n
}
