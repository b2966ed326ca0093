//go:build !unix

package vault

import (
	"errors"
	"os"
	"runtime"
)

// The vault relies on POSIX semantics that the standard library offers only on Unix-like
// systems: flock, and renaming or removing files that another handle still has open
// (compaction replaces the snapshot while it may be read). On Windows the sidecar therefore
// refuses persistence at start, before it creates or touches anything, and says what works
// instead; the memory and Redis stores need none of this.
var errWouldBlock = errors.New("the lock is held by another process")

func lockSupported() error {
	return newErr(IO, errors.ErrUnsupported,
		"persistence is not supported on %s: the vault needs Unix file locking and rename semantics. "+
			"Run without persistence, use the Redis store (store: { type: 'redis' }) to keep sessions across restarts, "+
			"or run the app on Linux or macOS (on Windows: inside WSL)", runtime.GOOS)
}

func lockFile(*os.File, bool) error { return lockSupported() }

func unlockFile(*os.File) {}
