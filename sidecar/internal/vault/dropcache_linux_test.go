package vault_test

import (
	"os"
	"syscall"
	"testing"
)

// dropPageCache, with XEMS_BENCH_COLD=1 (root, Linux), empties the page cache so the load reads
// the vault from the disk.
func dropPageCache(b *testing.B) {
	if os.Getenv("XEMS_BENCH_COLD") != "1" {
		return
	}
	b.StopTimer()
	defer b.StartTimer()
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0o200); err != nil {
		b.Fatalf("XEMS_BENCH_COLD=1 needs root on Linux: %v", err)
	}
}
