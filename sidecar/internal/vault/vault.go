// Package vault keeps the sidecar's records on disk, encrypted, so sessions survive restarts:
// a snapshot and append-only journals in one directory, every block sealed with AES-256-GCM
// under a key derived (HKDF-SHA256) from the 32-byte secret, a random salt and, optionally,
// the machine identity. Records are opaque to it: the store hands it (sandbox, kind, key,
// blob) tuples and gets the same tuples back when the vault is loaded. See
// docs/vault-format.md for the format and docs/sidecar-internals.md for how the store uses it.
package vault

import (
	"log/slog"
	"os"
	"sync"
	"time"
)

// Fsync is the durability policy of journal writes.
type Fsync uint8

const (
	// FsyncEverySec: a write is acknowledged once it is in the file (the OS has it: a crash of
	// the sidecar loses nothing); the file is flushed to the disk every second, so a crash of
	// the machine loses at most the last second.
	FsyncEverySec Fsync = iota
	// FsyncAlways: a write is acknowledged once it is on the disk (fdatasync; concurrent writes
	// share one flush).
	FsyncAlways
	// FsyncNo: like everysec without the periodic flush: the OS writes back when it wants.
	FsyncNo
)

// ParseFsync maps the option names "always", "everysec" and "no".
func ParseFsync(s string) (Fsync, bool) {
	switch s {
	case "always":
		return FsyncAlways, true
	case "everysec":
		return FsyncEverySec, true
	case "no":
		return FsyncNo, true
	}
	return 0, false
}

func (f Fsync) String() string {
	switch f {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// DefaultCompactMinBytes: journals smaller than this are never compacted (and never more than
// the last snapshot's size): compaction rewrites everything, so it should be rare.
const DefaultCompactMinBytes = 64 << 20

// Options configure Open.
type Options struct {
	Dir     string
	Secret  []byte // exactly SecretSize bytes; copied
	Binding Binding
	Fsync   Fsync
	Logger  *slog.Logger
	// ReadOnly opens for checking (vault verify): a shared lock, nothing created, cut or
	// deleted, no writer.
	ReadOnly bool
	// CompactMinBytes: see DefaultCompactMinBytes (0: the default).
	CompactMinBytes int64

	wrapJournal func(journalFile) journalFile // tests: fault injection
}

// Restorer receives the records of a vault being loaded, in order: a put replaces, a delete
// removes, a clear removes a whole sandbox.
type Restorer interface {
	// RestorePut installs a record; expired reports a record skipped because it has expired
	// (it must then also remove any earlier version).
	RestorePut(sandbox []byte, kind uint8, key *[16]byte, blob []byte) (expired bool, err error)
	RestoreDelete(sandbox []byte, kind uint8, key *[16]byte) error
	RestoreClear(sandbox []byte) error
}

// Source lists every live record for a snapshot. fn's arguments are valid during the call.
type Source interface {
	Dump(fn func(sandbox string, kind uint8, key *[16]byte, blob []byte) error) error
}

// LoadStats describe what Load found.
type LoadStats struct {
	Created         bool // the directory held no vault: a new one was created
	Epoch           uint64
	SnapshotRecords int   // records in the snapshot
	Journals        int   // journal files replayed
	JournalEntries  int   // entries replayed
	Expired         int   // records skipped because they had expired
	TornBytes       int64 // bytes of a torn journal tail (cut, unless read-only)
	Bytes           int64 // bytes read
	Elapsed         time.Duration
}

// Vault is an open vault directory. Open, then Load, then Start; Put/Delete/Clear journal
// changes; Close flushes everything to the disk.
type Vault struct {
	o        Options
	dir      string
	log      *slog.Logger
	lock     *vaultLock
	hdr      header
	hdrBytes []byte
	kr       *keyring
	dataKey  []byte
	created  bool

	snap     *os.File // open between Open and Load
	snapSize int64
	snapRd   *blockReader

	loaded bool
	stats  LoadStats
	w      *writer

	compactMu    sync.Mutex
	compactReq   chan struct{}
	stopCompact  chan struct{}
	compactDone  chan struct{}
	cancelled    chanFlag
	lastSnapSize int64
}

type chanFlag struct {
	mu sync.Mutex
	on bool
}

func (c *chanFlag) set()      { c.mu.Lock(); c.on = true; c.mu.Unlock() }
func (c *chanFlag) get() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.on }

// DataKey is the store's master key, kept in the vault (sealed) so records sealed by one
// sidecar open in the next. The caller must not keep it after Close.
func (v *Vault) DataKey() []byte { return v.dataKey }

// Dir is the vault's directory (absolute).
func (v *Vault) Dir() string { return v.dir }

// Bound reports whether the vault's key is bound to a machine identity.
func (v *Vault) Bound() bool { return v.hdr.flags&headerFlagBound != 0 }

func (v *Vault) release() {
	if v.snap != nil {
		v.snap.Close()
		v.snap = nil
	}
	if v.loaded {
		v.lock.release()
	} else {
		// A refused start (at Open or Load) leaves the directory as it found it, the lock
		// file included.
		v.lock.abandon()
	}
	v.lock = nil
	if v.kr != nil {
		v.kr.wipe()
	}
	clear(v.dataKey)
	clear(v.o.Secret)
}

// Close stops compaction, writes what is pending, flushes the journal to the disk (whatever
// the fsync policy), and releases the lock. Changes journaled afterwards fail.
func (v *Vault) Close() error {
	if v.stopCompact != nil {
		v.cancelled.set()
		close(v.stopCompact)
		<-v.compactDone
		v.stopCompact = nil
	}
	var err error
	if v.w != nil {
		err = v.w.close()
	}
	v.release()
	return err
}
