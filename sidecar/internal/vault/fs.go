package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File names inside the vault directory.
const (
	snapshotName  = "xems.vault"
	lockName      = "xems.lock"
	journalPrefix = "xems.journal."
	tmpSuffix     = ".tmp"
)

func journalName(epoch uint64) string { return fmt.Sprintf("%s%016x", journalPrefix, epoch) }

func dirOf(path string) string { return filepath.Dir(path) }

// journalFile is what the journal writer needs of its file; tests wrap it to inject faults
// (a full disk, a read-only file system, an I/O error).
type journalFile interface {
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Sync() error // fdatasync
	Close() error
}

type osJournal struct{ f *os.File }

func (j osJournal) WriteAt(b []byte, off int64) (int, error) { return j.f.WriteAt(b, off) }
func (j osJournal) Truncate(size int64) error                { return j.f.Truncate(size) }
func (j osJournal) Sync() error                              { return fdatasync(j.f) }
func (j osJournal) Close() error                             { return j.f.Close() }

// syncDir makes a directory's entries (a rename, a new or removed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// journalEpochs lists the epochs of the journal files in dir, ascending, and the temporary
// files left behind by an interrupted write.
func journalEpochs(dir string) (epochs []uint64, temps []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) && strings.HasPrefix(name, "xems.") {
			temps = append(temps, name)
			continue
		}
		if !strings.HasPrefix(name, journalPrefix) {
			continue
		}
		hex := strings.TrimPrefix(name, journalPrefix)
		ep, perr := strconv.ParseUint(hex, 16, 64)
		if perr != nil || len(hex) != 16 {
			continue // not ours (someone else's file with a similar name): left alone
		}
		epochs = append(epochs, ep)
	}
	slices.Sort(epochs)
	return epochs, temps, nil
}

// writeFileAtomic writes a complete file: to <name>.tmp, fsync, rename over name, fsync of the
// directory. A crash leaves either the old file or the new one, never a mix.
func writeFileAtomic(dir, name string, write func(f *os.File) error) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := fdatasync(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// fileSize returns the size of an open file.
func fileSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
