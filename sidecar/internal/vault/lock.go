package vault

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// vaultLock is the vault's lock on <dir>/xems.lock: exclusive for a sidecar (two processes on
// one vault would interleave journals), shared for a read-only check. The operating system
// drops it when the process dies, so a crashed sidecar never leaves a stale lock.
//
// A start that the vault refuses (wrong secret, other machine, corrupt) must leave every file
// of the directory byte-identical (docs/vault-format.md, "Refusals"), the lock file included:
// the holder's pid is written only by claim, once the vault has accepted the key, and a lock
// file that this start created is removed again by abandon.
type vaultLock struct {
	f       *os.File
	path    string
	created bool
}

// acquireLock opens (or creates) the lock file and locks it without waiting. A read-only
// check of a vault copy that has no lock file gets a nil lock: nobody writes a copy.
func acquireLock(path string, exclusive bool) (*vaultLock, error) {
	if err := lockSupported(); err != nil {
		return nil, err
	}
	f, created, err := openLockFile(path, exclusive)
	if err != nil || f == nil {
		return nil, err
	}
	l := &vaultLock{f: f, path: path, created: created}
	if err := lockFile(f, exclusive); err != nil {
		holder := readHolder(path)
		// Not abandon: whoever holds the lock may have opened the file we just created.
		l.release()
		if errors.Is(err, errWouldBlock) {
			return nil, newErr(Locked, err, "the vault at %s is in use by another process%s: two applications (or cluster workers) cannot share one vault; give each its own persistence.path", dirOf(path), holder)
		}
		return nil, newErr(IO, err, "cannot lock %s: %v", path, err)
	}
	return l, nil
}

func openLockFile(path string, exclusive bool) (f *os.File, created bool, err error) {
	if !exclusive {
		f, err = os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
	} else {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		created = err == nil
		if errors.Is(err, os.ErrExist) {
			f, err = os.OpenFile(path, os.O_RDWR, 0o600)
		}
	}
	if err != nil {
		return nil, false, newErr(IO, err, "cannot open the lock file %s: %v", path, err)
	}
	return f, created, nil
}

// claim records our pid in the lock file, for the message a second process prints. Best
// effort: the pid only improves that message. Called once the vault has accepted the key.
func (l *vaultLock) claim() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_, _ = l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	l.created = false
}

// abandon releases the lock of a refused start, removing the lock file if this start created
// it (while still holding the lock, so no other process is using it).
func (l *vaultLock) abandon() {
	if l == nil || l.f == nil {
		return
	}
	if l.created {
		_ = os.Remove(l.path)
	}
	l.release()
}

// release unlocks and closes; the file stays for the next start.
func (l *vaultLock) release() {
	if l == nil || l.f == nil {
		return
	}
	unlockFile(l.f)
	l.f.Close()
	l.f = nil
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil || pid == "" {
		return ""
	}
	return " (pid " + pid + ")"
}
