//go:build !unix

package vault

import (
	"errors"
	"os"
)

// Persistence needs flock and fdatasync; only Unix-like systems have them in the standard
// library. Elsewhere the sidecar refuses persistence with a clear error.
func lockFile(path string, exclusive bool) (*os.File, error) {
	return nil, newErr(IO, errors.ErrUnsupported, "persistence is supported on Linux and other Unix-like systems only")
}

func unlockFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}
