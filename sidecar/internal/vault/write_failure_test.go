package vault

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
)

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
