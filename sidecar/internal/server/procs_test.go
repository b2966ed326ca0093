package server

import (
	"runtime"
	"testing"
)

func TestRedisProcs(t *testing.T) {
	for _, c := range []struct{ available, want int }{{1, 1}, {2, 1}, {3, 1}, {4, 2}, {8, 4}, {64, 32}} {
		if got := redisProcs(c.available); got != c.want {
			t.Errorf("redisProcs(%d) = %d, want %d", c.available, got, c.want)
		}
	}
}

func TestLimitRedisProcsKeepsTheOperatorsSetting(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)
	runtime.GOMAXPROCS(4)
	t.Setenv("GOMAXPROCS", "4")
	if n := limitRedisProcs(); n != 4 || runtime.GOMAXPROCS(0) != 4 {
		t.Fatalf("with GOMAXPROCS=4 set, got %d (runtime %d), want 4", n, runtime.GOMAXPROCS(0))
	}
	t.Setenv("GOMAXPROCS", "")
	if n := limitRedisProcs(); n != 2 || runtime.GOMAXPROCS(0) != 2 {
		t.Fatalf("without GOMAXPROCS, got %d (runtime %d), want 2", n, runtime.GOMAXPROCS(0))
	}
}
