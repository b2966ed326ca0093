package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// everyFile hashes every file in dir, the lock file included (hashes leaves it out).
func everyFile(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := hashes(t, dir)
	if b, err := os.ReadFile(filepath.Join(dir, lockName)); err == nil {
		sum := sha256.Sum256(b)
		out[lockName] = hex.EncodeToString(sum[:])
	}
	return out
}

// flipLastJournalByte corrupts the journal so that Open succeeds and Load refuses.
func flipLastJournalByte(t *testing.T, dir string) {
	t.Helper()
	j := journalFiles(t, dir)
	path := j[len(j)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A refused start leaves every file byte-identical, xems.lock included: the lock file holds
// the last holder's pid (another process's), which a refused start must not overwrite.
func TestRefusedStartLeavesEveryFileAsItWas(t *testing.T) {
	for _, withLockFile := range []bool{true, false} {
		dir := t.TempDir()
		v, m, _ := start(t, dir)
		m.put(t, v, "s", 2, 1, "record")
		v.Close()
		lock := filepath.Join(dir, lockName)
		if withLockFile {
			if err := os.WriteFile(lock, []byte("4194301\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(lock); err != nil { // a copy of the vault (a backup)
			t.Fatal(err)
		}
		before := everyFile(t, dir)
		for _, tc := range []struct {
			name string
			opts []opts
			kind Kind
		}{
			{"wrong secret", []opts{withSecret(otherSecret)}, WrongSecret},
			{"other machine", []opts{withBinding(machineB)}, WrongMachine},
		} {
			if _, _, err := reload(t, dir, tc.opts...); kindOf(err) != tc.kind {
				t.Fatalf("%s: got %v, want %s", tc.name, err, tc.kind)
			}
			if !sameFiles(before, everyFile(t, dir)) {
				t.Fatalf("%s (lock file present: %v): the refused start changed the directory", tc.name, withLockFile)
			}
		}
		flipLastJournalByte(t, dir)
		corrupted := everyFile(t, dir)
		if _, _, err := reload(t, dir); kindOf(err) != Corrupt {
			t.Fatalf("corrupt journal: got %v", err)
		}
		if !sameFiles(corrupted, everyFile(t, dir)) {
			t.Fatalf("corrupt journal (lock file present: %v): the refused start changed the directory", withLockFile)
		}
	}
}

// An accepted start records its pid, so that a second opener can name the holder.
func TestAcceptedStartClaimsTheLockFile(t *testing.T) {
	dir := t.TempDir()
	v, _, _ := start(t, dir)
	v.Close()
	lock := filepath.Join(dir, lockName)
	os.WriteFile(lock, []byte("4194301\n"), 0o600)
	v, _, _ = start(t, dir)
	defer v.Close()
	b, _ := os.ReadFile(lock)
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, want our pid %d", got, os.Getpid())
	}
}
