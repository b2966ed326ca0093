package vault

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func (v *Vault) epochNow() uint64 {
	v.w.fmu.Lock()
	defer v.w.fmu.Unlock()
	return v.hdr.epoch // the snapshot's: set once a compaction has completed
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	for i := 0; i < 500; i++ {
		m.put(t, v, "s", 2, i%50, fmt.Sprintf("generation %d", i))
	}
	if err := v.Compact(m); err != nil {
		t.Fatal(err)
	}
	if files := journalFiles(t, dir); len(files) != 1 || !strings.HasSuffix(files[0], "0000000000000002") {
		t.Fatalf("after compaction: journals %v", files)
	}
	for i := 0; i < 10; i++ {
		m.put(t, v, "s", 2, 100+i, "after")
	}
	v.Close()
	got, st, err := reload(t, dir)
	if err != nil || !m.equal(got) {
		t.Fatalf("reload after compaction: %v", err)
	}
	if st.SnapshotRecords != 50 || st.JournalEntries != 10 || st.Epoch != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// failingSource fails its dump: a compaction that cannot write its snapshot (disk full).
type failingSource struct{}

func (failingSource) Dump(func(string, uint8, *[16]byte, []byte) error) error {
	return syscall.ENOSPC
}

func TestInterruptedCompactionKeepsEveryJournal(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "before")
	if err := v.Compact(failingSource{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("compaction should fail: %v", err)
	}
	m.put(t, v, "s", 1, 2, "in the new journal")
	if err := v.Compact(failingSource{}); err == nil {
		t.Fatal("second failing compaction")
	}
	m.put(t, v, "s", 1, 1, "in the third journal")
	if n := len(journalFiles(t, dir)); n != 3 {
		t.Fatalf("%d journals, want 3 (snapshot epoch 1, journals 1..3)", n)
	}
	v.Close()
	got, st, err := reload(t, dir)
	if err != nil || !m.equal(got) || st.Journals != 3 {
		t.Fatalf("reload: %v %+v", err, st)
	}
	// A successful compaction folds them all in and removes them.
	v, m2, _ := start(t, dir)
	if err := v.Compact(m2); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if n := len(journalFiles(t, dir)); n != 1 {
		t.Fatalf("%d journals after compaction", n)
	}
	got, _, err = reload(t, dir)
	if err != nil || !m.equal(got) {
		t.Fatalf("reload: %v", err)
	}
	// A missing journal in the middle is corruption.
	v, m3, _ := start(t, dir)
	v.Compact(failingSource{})
	m3.put(t, v, "s", 1, 9, "x")
	v.Compact(failingSource{})
	v.Close()
	files := journalFiles(t, dir)
	os.Remove(files[1])
	if _, _, err := reload(t, dir); kindOf(err) != Corrupt || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing middle journal: %v", err)
	}
}

func TestBackgroundCompactionUnderTraffic(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir, withCompactMin(8<<10))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				m.put(t, v, "s", 2, g*1000+i%40, strings.Repeat("x", 100)+fmt.Sprint(i))
			}
		}(g)
	}
	wg.Wait()
	// Compaction runs in the background: keep writing until it has switched epochs.
	for i := 0; v.epochNow() < 2; i++ {
		if i > 5000 {
			t.Fatal("no compaction within 5000 more writes")
		}
		m.put(t, v, "s", 2, i%10, "more")
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	v.Close()
	got, st, err := reload(t, dir)
	if err != nil || !m.equal(got) {
		t.Fatalf("reload: %v", err)
	}
	if st.Epoch < 2 {
		t.Fatalf("no compaction ran (epoch %d)", st.Epoch)
	}
}
