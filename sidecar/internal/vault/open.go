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
)

// Opening a vault: the directory and its lock, the snapshot's header and data-key block, the
// check of the secret and the machine identity, or a new empty vault when there is none.

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
