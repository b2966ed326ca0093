// Package vault keeps the sidecar's records on disk, encrypted, so sessions survive restarts:
// a snapshot and append-only journals in one directory, every block sealed with AES-256-GCM
// under a key derived (HKDF-SHA256) from the 32-byte secret, a random salt and, optionally,
// the machine identity. Records are opaque to it: the store hands it (sandbox, kind, key,
// blob) tuples and gets the same tuples back when the vault is loaded. See
// docs/vault-format.md for the format and docs/sidecar-internals.md for how the store uses it.
package vault

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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

// Open locks the vault directory (creating it, mode 0700, and a new vault in it when it holds
// none) and checks the secret and the machine identity against the header. It reads nothing
// but the header and the snapshot's first block (the data key); Load reads the rest.
func Open(o Options) (*Vault, error) {
	if len(o.Secret) != SecretSize {
		return nil, newErr(IO, nil, "the vault secret must be exactly %d bytes (got %d)", SecretSize, len(o.Secret))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CompactMinBytes <= 0 {
		o.CompactMinBytes = DefaultCompactMinBytes
	}
	o.Secret = bytes.Clone(o.Secret)
	o.Binding.Identity = bytes.Clone(o.Binding.Identity)
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, newErr(IO, err, "invalid vault path %q", o.Dir)
	}
	if err := lockSupported(); err != nil {
		return nil, err // before anything is created
	}
	v := &Vault{o: o, dir: dir, log: o.Logger}
	if err := v.prepareDir(); err != nil {
		return nil, err
	}
	if v.lock, err = acquireLock(filepath.Join(dir, lockName), !o.ReadOnly); err != nil {
		return nil, err
	}
	if err := v.openSnapshot(); err != nil {
		v.release()
		return nil, err
	}
	return v, nil
}

func (v *Vault) prepareDir() error {
	if !v.o.ReadOnly {
		if err := os.MkdirAll(v.dir, 0o700); err != nil {
			return newErr(IO, err, "cannot create the vault directory %s: %v", v.dir, err)
		}
	}
	st, err := os.Stat(v.dir)
	if err != nil {
		return newErr(IO, err, "cannot read the vault directory %s: %v", v.dir, err)
	}
	if !st.IsDir() {
		return newErr(IO, nil, "the vault path %s is not a directory (persistence.path names a directory)", v.dir)
	}
	if st.Mode().Perm()&0o077 != 0 && !v.o.ReadOnly {
		v.log.Warn("the vault directory is accessible to other users; chmod 700 it", "path", v.dir, "mode", st.Mode().Perm().String())
	}
	return nil
}

// DataKey is the store's master key, kept in the vault (sealed) so records sealed by one
// sidecar open in the next. The caller must not keep it after Close.
func (v *Vault) DataKey() []byte { return v.dataKey }

// Dir is the vault's directory (absolute).
func (v *Vault) Dir() string { return v.dir }

// Bound reports whether the vault's key is bound to a machine identity.
func (v *Vault) Bound() bool { return v.hdr.flags&headerFlagBound != 0 }

func (v *Vault) openSnapshot() error {
	path := filepath.Join(v.dir, snapshotName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return v.createNew()
	}
	if err != nil {
		return newErr(IO, err, "cannot open %s: %v", path, err)
	}
	size, err := fileSize(f)
	if err != nil {
		f.Close()
		return newErr(IO, err, "cannot read %s: %v", path, err)
	}
	h, err := readSnapshotHead(bufio.NewReaderSize(f, 1<<20), size, v.checkKeys)
	if err != nil {
		f.Close()
		return err
	}
	v.hdr, v.hdrBytes, v.kr, v.dataKey = h.hdr, h.raw, h.kr, h.dataKey
	v.snap, v.snapSize, v.snapRd = f, size, h.br
	v.lastSnapSize = size
	return nil
}

type snapshotHead struct {
	hdr     header
	raw     []byte
	kr      *keyring
	dataKey []byte
	br      *blockReader // positioned after the data-key block
}

// readSnapshotHead reads the header, checks the keys (checkKeys tells a wrong secret from a
// wrong machine) and opens the data-key block.
func readSnapshotHead(rd *bufio.Reader, size int64, checkKeys func(*header) (*keyring, error)) (snapshotHead, error) {
	var h snapshotHead
	h.raw = make([]byte, snapshotHeaderSize)
	if _, err := io.ReadFull(rd, h.raw); err != nil && size >= snapshotHeaderSize {
		return h, newErr(IO, err, "cannot read the snapshot: %v", err)
	}
	var err error
	if h.hdr, err = decodeHeader(h.raw[:int(min(int64(len(h.raw)), size))]); err != nil {
		return h, err
	}
	if h.kr, err = checkKeys(&h.hdr); err != nil {
		return h, err
	}
	aead, err := h.kr.epochAEAD(h.hdr.epoch)
	if err != nil {
		return h, newErr(IO, err, "key derivation failed")
	}
	h.br = &blockReader{r: rd, aead: aead, file: fileSnapshot, epoch: h.hdr.epoch, name: "the snapshot",
		off: snapshotHeaderSize, size: size}
	pt, err := h.br.next(h.raw)
	if err == errEnd {
		err = corrupt("the snapshot has no data-key block")
	}
	if err != nil {
		return h, err
	}
	h.dataKey, err = decodeMeta(pt)
	return h, err
}

// checkKeys derives the keys and tells a wrong secret from a wrong machine identity: the
// header holds one check value of the secret alone and one of the full key.
func (v *Vault) checkKeys(h *header) (*keyring, error) {
	kr, err := deriveKeys(v.o.Secret, h.salt[:], v.o.Binding)
	if err != nil {
		return nil, newErr(IO, err, "%v", err)
	}
	if !hmac.Equal(kr.secretCheck[:], h.secretCheck[:]) {
		kr.wipe()
		return nil, newErr(WrongSecret, nil, "the vault at %s was written with another secret: persistence.secret does not match (restore the right secret, or move the vault away to start an empty one)", v.dir)
	}
	if !hmac.Equal(kr.keyCheck[:], h.keyCheck[:]) {
		kr.wipe()
		was := "to another machine identity"
		switch {
		case h.flags&headerFlagBound == 0:
			was = "without hardware binding (hardwareBinding: false)"
		case !v.o.Binding.Bound:
			was = "to a machine identity, but hardwareBinding is false now"
		}
		return nil, newErr(WrongMachine, nil, "the secret is right, but the vault at %s is bound %s: it was copied from another machine, or the machine id changed (use hardwareBinding: { id } with the original identity, or \"nestjs-xems vault rekey\" to move it on purpose)", v.dir, was)
	}
	return kr, nil
}

func decodeMeta(pt []byte) ([]byte, error) {
	f := fields{b: pt}
	if f.u8() != blockMeta || f.u8() != 32 {
		return nil, corrupt("the snapshot's first block is not its data-key block")
	}
	key := bytes.Clone(f.take(32))
	f.u64() // created (ms)
	f.u64() // reserved
	if f.bad || len(f.b) != 0 {
		return nil, corrupt("the snapshot's data-key block is malformed")
	}
	return key, nil
}

// createNew makes an empty vault: a fresh salt and data key, a snapshot of epoch 1 and its
// journal. A directory holding journals but no snapshot is refused (the snapshot was lost).
func (v *Vault) createNew() error {
	epochs, _, err := journalEpochs(v.dir)
	if err != nil {
		return newErr(IO, err, "cannot list %s: %v", v.dir, err)
	}
	if len(epochs) > 0 {
		return corrupt("%s holds journal files but no snapshot (%s): the vault lost its snapshot", v.dir, snapshotName)
	}
	if v.o.ReadOnly {
		return newErr(IO, nil, "there is no vault at %s (no %s)", v.dir, snapshotName)
	}
	hdr := header{version: formatVersion, epoch: 1}
	if _, err := rand.Read(hdr.salt[:]); err != nil {
		return newErr(IO, err, "random source failed")
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return newErr(IO, err, "random source failed")
	}
	kr, err := v.newKeyring(&hdr, v.o.Secret, v.o.Binding)
	if err != nil {
		return err
	}
	size, _, err := v.writeSnapshot(kr, &hdr, dataKey, nil)
	if err != nil {
		return newErr(IO, err, "cannot create the vault in %s: %v", v.dir, err)
	}
	if err := v.createJournal(kr, hdr.epoch); err != nil {
		return err
	}
	v.hdr, v.hdrBytes, v.kr, v.dataKey = hdr, hdr.encode(), kr, dataKey
	v.created = true
	v.lastSnapSize = size
	v.log.Info("created a new vault", "path", v.dir, "bound", v.o.Binding.Bound)
	return nil
}

// newKeyring derives the keys of a new header (its salt set) and fills in its check values.
func (v *Vault) newKeyring(hdr *header, secret []byte, b Binding) (*keyring, error) {
	kr, err := deriveKeys(secret, hdr.salt[:], b)
	if err != nil {
		return nil, newErr(IO, err, "%v", err)
	}
	hdr.secretCheck, hdr.keyCheck = kr.secretCheck, kr.keyCheck
	hdr.flags = 0
	if b.Bound {
		hdr.flags = headerFlagBound
	}
	return kr, nil
}

// createJournal writes an empty journal file of epoch (header only), atomically.
func (v *Vault) createJournal(kr *keyring, epoch uint64) error {
	err := writeFileAtomic(v.dir, journalName(epoch), func(f *os.File) error {
		_, err := f.Write(encodeJournalHeader(kr, epoch))
		return err
	})
	if err != nil {
		return newErr(IO, err, "cannot create journal %d in %s: %v", epoch, v.dir, err)
	}
	return nil
}

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
