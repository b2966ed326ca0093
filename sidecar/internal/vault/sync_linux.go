package vault

import (
	"os"
	"syscall"
)

// fdatasync flushes a file's data (and its size, when it changed) to stable storage, without
// the metadata a plain fsync also writes.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
