//go:build !linux

package vault

import "os"

// fdatasync: os.File.Sync (fsync; F_FULLFSYNC on macOS) where fdatasync is not available.
func fdatasync(f *os.File) error { return f.Sync() }
