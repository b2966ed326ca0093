//go:build !linux

package vault_test

import (
	"os"
	"testing"
)

// dropPageCache: XEMS_BENCH_COLD=1 (an empty page cache) exists on Linux only.
func dropPageCache(b *testing.B) {
	if os.Getenv("XEMS_BENCH_COLD") == "1" {
		b.Skip("XEMS_BENCH_COLD=1 needs Linux")
	}
}
