package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a small tmpfs (a real full disk) or skips the test when not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the disk-full behaviour is covered by TestWriteFailuresAreReportedAndCutOff with an injected ENOSPC", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestRealDiskFull fills a 64 KiB tmpfs with journal entries: the write that does not fit is
// refused with WriteFailed (caused by ENOSPC) and cut off, and every acknowledged one loads.
func TestRealDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "64k")
	dir := filepath.Join(mnt, "vault")
	v, m, _ := start(t, dir)
	value := strings.Repeat("v", 900)
	acked := 0
	var failure error
	for i := 0; i < 200 && failure == nil; i++ {
		key := keyOf(i)
		m.mu.Lock()
		err := v.Put("s", 1, &key, []byte(value), true)
		if err == nil {
			m.recs[mkey([]byte("s"), 1, &key)] = []byte(value)
			acked++
		}
		m.mu.Unlock()
		failure = err
	}
	if kindOf(failure) != WriteFailed || !errors.Is(failure, syscall.ENOSPC) {
		t.Fatalf("after %d writes: %v, want a WriteFailed error caused by ENOSPC", acked, failure)
	}
	key := keyOf(1000)
	if err := v.Put("s", 1, &key, []byte(value), true); kindOf(err) != WriteFailed {
		t.Fatalf("second write on a full disk: %v", err)
	}
	v.Close()
	got, _, err := reload(t, dir)
	if err != nil || !m.equal(got) {
		t.Fatalf("reload after disk full: %v (acknowledged %d)", err, acked)
	}
}

// TestDiskFullThenSpaceReturns: a filler file takes the free space; writes fail; removing it
// lets them succeed again, in the same running vault.
func TestDiskFullThenSpaceReturns(t *testing.T) {
	mnt := mountTmpfs(t, "128k")
	dir := filepath.Join(mnt, "vault")
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "before")
	// Fill the disk.
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	failed := 0
	for i := 0; i < 20; i++ {
		key := keyOf(100 + i)
		if err := v.Put("s", 1, &key, []byte(strings.Repeat("x", 3000)), true); err != nil {
			if kindOf(err) != WriteFailed {
				t.Fatalf("unexpected error kind: %v", err)
			}
			failed++
		} else {
			m.mu.Lock()
			m.recs[mkey([]byte("s"), 1, &key)] = []byte(strings.Repeat("x", 3000))
			m.mu.Unlock()
		}
	}
	if failed == 0 {
		t.Fatal("no write failed on a full disk")
	}
	os.Remove(filepath.Join(mnt, "filler"))
	for i := 0; i < 5; i++ {
		m.put(t, v, "s", 1, 200+i, fmt.Sprintf("after space returned %d", i))
	}
	v.Close()
	got, _, err := reload(t, dir)
	if err != nil || !m.equal(got) {
		t.Fatalf("reload: %v", err)
	}
}

// TestReadOnlyFileSystem: a vault on a file system remounted read-only cannot be opened for
// writing (a clear IO refusal, nothing changed), but can still be verified. (A file system
// cannot be remounted read-only under a running vault: Linux refuses while a file is open for
// writing, so the run-time read-only case is TestWriteFailuresAreReportedAndCutOff's EROFS.)
func TestReadOnlyFileSystem(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	dir := filepath.Join(mnt, "vault")
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "a")
	v.Close()
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	t.Cleanup(func() { syscall.Mount("", mnt, "", syscall.MS_REMOUNT, "") })
	before := hashes(t, dir)
	_, err := open(dir)
	if kindOf(err) != IO || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("open on a read-only file system: %v", err)
	}
	ro, err := open(dir, readOnly())
	if err != nil {
		t.Fatalf("verify on a read-only file system: %v", err)
	}
	got := newModel()
	if _, err := ro.Load(got); err != nil || !m.equal(got) {
		t.Fatalf("verify load: %v", err)
	}
	ro.Close()
	if !sameFiles(before, hashes(t, dir)) {
		t.Fatal("changed")
	}
}
