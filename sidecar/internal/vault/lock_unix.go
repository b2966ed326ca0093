//go:build unix

package vault

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockFile takes the vault's lock: an flock on <dir>/xems.lock, exclusive for a sidecar (two
// processes on one vault would interleave journals), shared for a read-only check. The kernel
// drops the lock when the process dies, so a crashed sidecar never leaves a stale lock.
// exclusive also writes our pid into the file, for the message a second process prints.
func lockFile(path string, exclusive bool) (*os.File, error) {
	flag := os.O_RDWR | os.O_CREATE
	if !exclusive {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		if !exclusive && errors.Is(err, os.ErrNotExist) {
			return nil, nil // a copy of a vault (a backup) has no lock file: nobody writes it
		}
		return nil, newErr(IO, err, "cannot open the lock file %s: %v", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := flockRetry(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		holder := readHolder(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, newErr(Locked, err, "the vault at %s is in use by another process%s: two applications (or cluster workers) cannot share one vault; give each its own persistence.path", dirOf(path), holder)
		}
		return nil, newErr(IO, err, "cannot lock %s: %v", path, err)
	}
	if exclusive {
		// Best effort: the pid only improves the message of a second process.
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func flockRetry(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			return err
		}
	}
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

func unlockFile(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
