package vault_test

// Benchmarks of the vault with the real store (docs/persistence-bench.md has the figures):
//
//	go test -run '^$' -bench 'Load1M' -benchtime 1x -timeout 20m ./internal/vault
//	go test -run '^$' -bench 'Write' -benchtime 20000x ./internal/vault

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
)

var (
	benchSecret = []byte("bench-secret-0123456789abcdefghi")
	benchID     = vault.Binding{Bound: true, Identity: []byte("3d1219c7c4c5404aaa1f6d2a48adfda4")}
)

func openStore(b *testing.B, dir string, fsync vault.Fsync, compactMin int64) (*vault.Vault, *store.Store, vault.LoadStats) {
	b.Helper()
	v, err := vault.Open(vault.Options{Dir: dir, Secret: benchSecret, Binding: benchID, Fsync: fsync, CompactMinBytes: compactMin})
	if err != nil {
		b.Fatal(err)
	}
	m, err := crypto.NewMaster(v.DataKey())
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(store.Options{Master: m})
	ls, err := v.Load(st)
	if err != nil {
		b.Fatal(err)
	}
	st.SetJournal(v)
	v.Start(st)
	return v, st, ls
}

// fill creates n sessions of 256 bytes of data (each with a user id and meta, as the module
// stores them), journaled.
func fill(b *testing.B, st *store.Store, n int) {
	b.Helper()
	data := bytes.Repeat([]byte("d"), 256)
	meta := []byte(`{"ip":"203.0.113.7","userAgent":"Mozilla/5.0"}`)
	workers := 32
	var next atomic.Int64
	done := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					done <- nil
					return
				}
				if _, err := storetest.SessionCreate(st, []byte("xems.session"), data, 3_600_000, 0, []byte(fmt.Sprintf("user-%d", i)), meta); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad1M: the time to load a vault of 1 M sessions (256-byte data) into a fresh store:
// from the snapshot after a compaction, and from the journal alone (the worst case: a vault
// that never compacted).
func BenchmarkLoad1M(b *testing.B) {
	const n = 1_000_000
	for _, compacted := range []bool{true, false} {
		name := "snapshot"
		if !compacted {
			name = "journal"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			noAutoCompaction := int64(1 << 40)
			v, st, _ := openStore(b, dir, vault.FsyncNo, noAutoCompaction)
			start := time.Now()
			fill(b, st, n)
			b.Logf("created %d sessions (journaled) in %v", n, time.Since(start).Round(time.Millisecond))
			if compacted {
				start = time.Now()
				if err := v.Compact(st); err != nil {
					b.Fatal(err)
				}
				b.Logf("compaction (snapshot of %d sessions) in %v", n, time.Since(start).Round(time.Millisecond))
			}
			v.Close()
			st = nil
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dropPageCache(b)
				start := time.Now()
				v, st, ls := openStore(b, dir, vault.FsyncNo, noAutoCompaction)
				elapsed := time.Since(start)
				b.StopTimer()
				if got := st.Stats().Sandboxes["xems.session"].Sessions; got != n {
					b.Fatalf("loaded %d sessions, want %d", got, n)
				}
				b.ReportMetric(elapsed.Seconds(), "s/load")
				b.ReportMetric(float64(ls.Bytes)/1e6, "MB-read")
				b.Logf("loaded %d sessions (%d snapshot records, %d journal entries, %.0f MB) in %v",
					n, ls.SnapshotRecords, ls.JournalEntries, float64(ls.Bytes)/1e6, elapsed.Round(time.Millisecond))
				v.Close()
				st = nil
				runtime.GC()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkWrite: journaled S_CREATE (256-byte data) per fsync mode, from 1 writer (each
// change waits for its own write and flush) and from 32 concurrent writers (group commit:
// concurrent changes share a write and a flush).
func BenchmarkWrite(b *testing.B) {
	data := bytes.Repeat([]byte("d"), 256)
	for _, mode := range []vault.Fsync{vault.FsyncAlways, vault.FsyncEverySec, vault.FsyncNo} {
		for _, writers := range []int{1, 32} {
			b.Run(fmt.Sprintf("fsync=%s/writers=%d", mode, writers), func(b *testing.B) {
				v, st, _ := openStore(b, b.TempDir(), mode, 0)
				defer v.Close()
				var next atomic.Int64
				done := make(chan struct{}, writers)
				b.ResetTimer()
				start := time.Now()
				for w := 0; w < writers; w++ {
					go func() {
						defer func() { done <- struct{}{} }()
						for next.Add(1) <= int64(b.N) {
							if _, err := storetest.SessionCreate(st, []byte("s"), data, 3_600_000, 0, nil, nil); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				for w := 0; w < writers; w++ {
					<-done
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
			})
		}
	}
}
