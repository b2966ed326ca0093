package vault

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

func TestCreateWriteReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	v, m, st := start(t, dir)
	if !st.Created {
		t.Fatal("a new vault should be created in an empty directory")
	}
	for i := 0; i < 100; i++ {
		m.put(t, v, "sessions", 2, i, fmt.Sprintf("session record %d", i))
		m.put(t, v, "otp", 1, i, fmt.Sprintf("value %d", i))
	}
	for i := 0; i < 100; i += 3 {
		m.del(t, v, "otp", 1, i)
	}
	m.put(t, v, "sessions", 2, 5, "replaced")
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	got, st, err := reload(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Created || st.JournalEntries != 100*2+34+1 || st.TornBytes != 0 {
		t.Fatalf("unexpected load stats %+v", st)
	}
	if !m.equal(got) {
		t.Fatal("reloaded records differ from what was journaled")
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("vault directory mode %v, want 0700", info.Mode().Perm())
	}
	for name := range hashes(t, dir) {
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestClearEntry(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "a", 1, 1, "x")
	m.put(t, v, "b", 1, 1, "y")
	if err := v.Clear("a"); err != nil {
		t.Fatal(err)
	}
	m.RestoreClear([]byte("a"))
	m.put(t, v, "a", 1, 2, "after clear")
	v.Close()
	got, _, err := reload(t, dir)
	if err != nil || !m.equal(got) || len(got.recs) != 2 {
		t.Fatalf("after CLEAR: err %v, %d records", err, len(got.recs))
	}
}

func TestNothingInPlaintext(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "marker-sandbox", 2, 1, "PLANTED-MARKER-IN-RECORD")
	v.Compact(m)
	m.put(t, v, "marker-sandbox", 2, 2, "PLANTED-MARKER-IN-RECORD")
	v.Close()
	for name := range hashes(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		for _, marker := range []string{"PLANTED-MARKER", "marker-sandbox", "key-0000", string(testSecret), string(machineA.Identity)} {
			if bytes.Contains(b, []byte(marker)) {
				t.Fatalf("%s contains %q in plaintext", name, marker)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 2, 1, "record")
	v.Close()
	before := hashes(t, dir)

	cases := []struct {
		name string
		opts []opts
		kind Kind
		text string
	}{
		{"wrong secret", []opts{withSecret(otherSecret)}, WrongSecret, "another secret"},
		{"wrong secret on another machine", []opts{withSecret(otherSecret), withBinding(machineB)}, WrongSecret, "another secret"},
		{"other machine", []opts{withBinding(machineB)}, WrongMachine, "another machine identity"},
		{"binding turned off", []opts{withBinding(Binding{})}, WrongMachine, "hardwareBinding is false now"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := reload(t, dir, tc.opts...)
			if kindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want kind %s mentioning %q", err, tc.kind, tc.text)
			}
			if !sameFiles(before, hashes(t, dir)) {
				t.Fatal("a refused vault was modified")
			}
		})
	}

	// An unbound vault opened with a binding says so.
	dir2 := t.TempDir()
	v2, _, _ := start(t, dir2, withBinding(Binding{}))
	v2.Close()
	_, _, err := reload(t, dir2)
	if kindOf(err) != WrongMachine || !strings.Contains(err.Error(), "without hardware binding") {
		t.Fatalf("got %v", err)
	}
}

func TestLockedBySecondOpener(t *testing.T) {
	dir := t.TempDir()
	v, _, _ := start(t, dir)
	_, err := open(dir)
	if kindOf(err) != Locked || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	if _, err := open(dir, readOnly()); kindOf(err) != Locked {
		t.Fatalf("read-only open of a vault in use: %v", err)
	}
	v.Close()
	v2, err := open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	v2.Close()
}

func TestSnapshotWithoutJournalsAndJournalsWithoutSnapshot(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "a")
	v.Close()
	// Journals without a snapshot: refused, nothing created.
	os.Rename(filepath.Join(dir, snapshotName), filepath.Join(t.TempDir(), "moved"))
	before := hashes(t, dir)
	if _, _, err := reload(t, dir); kindOf(err) != Corrupt || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("got %v", err)
	}
	if !sameFiles(before, hashes(t, dir)) {
		t.Fatal("modified")
	}
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

func TestTornTailAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	for i := 0; i < 5; i++ {
		m.put(t, v, "s", 2, i, fmt.Sprintf("record %d", i))
	}
	v.Close()
	want := newModel()
	for k, b := range m.recs {
		want.recs[k] = b
	}
	jf := journalFiles(t, dir)[0]
	full, _ := os.ReadFile(jf)
	// Find where the last entry starts: the length of the journal before the fifth Put.
	lastStart := entryStarts(t, full)[4]
	delete(want.recs, mkey([]byte("s"), 2, ptr(keyOf(4))))
	for cut := lastStart; cut < len(full); cut++ {
		work := filepath.Join(t.TempDir(), "v")
		copyDir(t, dir, work)
		os.WriteFile(filepath.Join(work, filepath.Base(jf)), full[:cut], 0o600)
		var logs bytes.Buffer
		got, st, err := reload(t, work, withLog(slog.New(slog.NewJSONHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if !want.equal(got) {
			t.Fatalf("cut at %d: loaded records are not the valid prefix", cut)
		}
		if wantTorn := int64(cut - lastStart); st.TornBytes != wantTorn {
			t.Fatalf("cut at %d: torn %d, want %d", cut, st.TornBytes, wantTorn)
		}
		if cut > lastStart {
			if n := strings.Count(logs.String(), "torn tail"); n != 1 || !strings.Contains(logs.String(), fmt.Sprintf(`"bytes":%d`, cut-lastStart)) {
				t.Fatalf("cut at %d: want one warning with the byte count, got %s", cut, logs.String())
			}
		}
		if b, _ := os.ReadFile(filepath.Join(work, filepath.Base(jf))); len(b) != lastStart {
			t.Fatalf("cut at %d: the tail was not cut back to %d (file is %d)", cut, lastStart, len(b))
		}
		// The cut journal loads cleanly and takes new entries.
		v, m2, st := start(t, work)
		if st.TornBytes != 0 {
			t.Fatal("tail still torn")
		}
		m2.put(t, v, "s", 2, 99, "after the cut")
		v.Close()
		if got, _, err := reload(t, work); err != nil || !m2.equal(got) {
			t.Fatalf("cut at %d: write after cut: %v", cut, err)
		}
	}
	// Zero bytes after the last entry (space allocated, never written) are a torn tail too.
	work := filepath.Join(t.TempDir(), "z")
	copyDir(t, dir, work)
	os.WriteFile(filepath.Join(work, filepath.Base(jf)), append(bytes.Clone(full), make([]byte, 100)...), 0o600)
	if got, st, err := reload(t, work); err != nil || st.TornBytes != 100 || !m.equal(got) {
		t.Fatalf("zero tail: %v %+v", err, st)
	}
}

func ptr(k [16]byte) *[16]byte { return &k }

// entryStarts returns the offsets of the entries of a journal file.
func entryStarts(t testing.TB, b []byte) []int {
	var out []int
	for off := journalHeaderSize; off < len(b); {
		out = append(out, off)
		n := int(uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24)
		off += frameSize + n
	}
	return out
}

func TestFlipEveryByteIsRefused(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 2, 1, "in the snapshot")
	v.Compact(m)
	m.put(t, v, "s", 2, 2, "in the journal")
	m.put(t, v, "s", 1, 3, "last entry")
	v.Close()
	for _, name := range []string{snapshotName, filepath.Base(journalFiles(t, dir)[0])} {
		orig, _ := os.ReadFile(filepath.Join(dir, name))
		for i := range orig {
			work := filepath.Join(t.TempDir(), "v")
			copyDir(t, dir, work)
			flipped := bytes.Clone(orig)
			flipped[i] ^= 0x20
			os.WriteFile(filepath.Join(work, name), flipped, 0o600)
			before := hashes(t, work)
			_, _, err := reload(t, work)
			if kindOf(err) != Corrupt {
				t.Fatalf("%s byte %d flipped: got %v, want a corrupt refusal", name, i, err)
			}
			if !sameFiles(before, hashes(t, work)) {
				t.Fatalf("%s byte %d flipped: the refused vault was modified", name, i)
			}
		}
	}
}

// faultyFile fails writes or flushes on demand: a full disk, a read-only file system, EIO.
type faultyFile struct {
	journalFile
	mu        sync.Mutex
	failWrite error
	failSync  error
	partial   bool // write half of the bytes before failing
}

func (f *faultyFile) WriteAt(b []byte, off int64) (int, error) {
	f.mu.Lock()
	err, partial := f.failWrite, f.partial
	f.mu.Unlock()
	if err != nil {
		if partial {
			n, _ := f.journalFile.WriteAt(b[:len(b)/2], off)
			return n, err
		}
		return 0, err
	}
	return f.journalFile.WriteAt(b, off)
}

func (f *faultyFile) Sync() error {
	f.mu.Lock()
	err := f.failSync
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.journalFile.Sync()
}

func (f *faultyFile) set(write, sync error, partial bool) {
	f.mu.Lock()
	f.failWrite, f.failSync, f.partial = write, sync, partial
	f.mu.Unlock()
}

func TestWriteFailuresAreReportedAndCutOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fsync   Fsync
		write   error
		sync    error
		partial bool
	}{
		{"disk full, partial write", FsyncEverySec, syscall.ENOSPC, nil, true},
		{"read-only file system", FsyncNo, syscall.EROFS, nil, false},
		{"flush fails with fsync always", FsyncAlways, nil, syscall.EIO, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var ff *faultyFile
			var logs bytes.Buffer
			v, m, _ := start(t, dir, withFsync(tc.fsync), withLog(slog.New(slog.NewJSONHandler(&logs, nil))),
				withWrap(func(f journalFile) journalFile { ff = &faultyFile{journalFile: f}; return ff }))
			m.put(t, v, "s", 1, 1, "acknowledged")
			ff.set(tc.write, tc.sync, tc.partial)
			key := keyOf(2)
			err := v.Put("s", 1, &key, []byte("refused"), true)
			if kindOf(err) != WriteFailed {
				t.Fatalf("Put during the fault: %v", err)
			}
			if !strings.Contains(logs.String(), "vault write failed") {
				t.Fatal("no log line for the failed write")
			}
			ff.set(nil, nil, false)
			m.put(t, v, "s", 1, 3, "after the fault")
			if !strings.Contains(logs.String(), "succeed again") {
				t.Fatal("no log line when writes resume")
			}
			v.Close()
			got, _, err := reload(t, dir)
			if err != nil || !m.equal(got) {
				t.Fatalf("reload: %v (the failed entry must be gone, the others there)", err)
			}
		})
	}
}

func TestReadOnlyVerifyChangesNothing(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "a")
	m.put(t, v, "s", 1, 2, "b")
	v.Close()
	jf := journalFiles(t, dir)[0]
	b, _ := os.ReadFile(jf)
	os.WriteFile(jf, b[:len(b)-3], 0o600) // torn tail
	before := hashes(t, dir)
	v, err := open(dir, readOnly())
	if err != nil {
		t.Fatal(err)
	}
	got := newModel()
	st, err := v.Load(got)
	v.Close()
	if err != nil || st.TornBytes == 0 || len(got.recs) != 1 {
		t.Fatalf("verify: %v %+v", err, st)
	}
	if !sameFiles(before, hashes(t, dir)) {
		t.Fatal("read-only load modified the vault")
	}
	if _, err := open(t.TempDir(), readOnly()); kindOf(err) != IO {
		t.Fatalf("verify of an empty directory: %v", err)
	}
}

func TestRekey(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	for i := 0; i < 20; i++ {
		m.put(t, v, "s", 2, i, fmt.Sprintf("r%d", i))
	}
	v.Close()
	v, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := newModel()
	if _, err := v.Load(loaded); err != nil {
		t.Fatal(err)
	}
	if err := v.Rekey(otherSecret, machineB, loaded); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, _, err := reload(t, dir); kindOf(err) != WrongSecret {
		t.Fatalf("old secret after rekey: %v", err)
	}
	got, _, err := reload(t, dir, withSecret(otherSecret), withBinding(machineB))
	if err != nil || !m.equal(got) {
		t.Fatalf("new secret after rekey: %v", err)
	}
	// A crash right after the new snapshot replaced the old one (before its journal existed):
	// the next load starts an empty journal.
	for _, f := range journalFiles(t, dir) {
		os.Remove(f)
	}
	got, _, err = reload(t, dir, withSecret(otherSecret), withBinding(machineB))
	if err != nil || !m.equal(got) || len(journalFiles(t, dir)) != 1 {
		t.Fatalf("missing journal: %v", err)
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
