package vault

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// blockTarget is the plaintext size at which a snapshot's records block is sealed: large
// enough that sealing and framing cost nothing per record, small enough to stream.
const blockTarget = 1 << 20

var errCancelled = errors.New("compaction cancelled (the vault is closing)")

// snapshotWriter streams a snapshot: header, data-key block, records blocks, end block.
type snapshotWriter struct {
	bw       *bufio.Writer
	s        sealer
	seq      uint64
	pt       []byte // the records block being filled
	sandbox  string
	records  uint64
	blocks   uint64
	buf      []byte
	cancel   func() bool
	sizeSeen int64
}

func (sw *snapshotWriter) seal(pt, hdr []byte) error {
	var err error
	if sw.buf, err = sw.s.appendBlock(sw.buf[:0], pt, sw.seq, hdr); err != nil {
		return err
	}
	sw.seq++
	sw.sizeSeen += int64(len(sw.buf))
	_, err = sw.bw.Write(sw.buf)
	return err
}

func (sw *snapshotWriter) add(sandbox string, kind uint8, key *[16]byte, blob []byte) error {
	if sandbox != sw.sandbox || len(sw.pt) >= blockTarget {
		if err := sw.flushRecords(); err != nil {
			return err
		}
	}
	if len(sw.pt) == 0 {
		sw.sandbox = sandbox
		sw.pt = append(sw.pt, blockRecords, byte(len(sandbox)))
		sw.pt = append(sw.pt, sandbox...)
	}
	sw.pt = append(sw.pt, kind)
	sw.pt = append(sw.pt, key[:]...)
	sw.pt = binary.LittleEndian.AppendUint32(sw.pt, uint32(len(blob)))
	sw.pt = append(sw.pt, blob...)
	sw.records++
	return nil
}

func (sw *snapshotWriter) flushRecords() error {
	if len(sw.pt) == 0 {
		return nil
	}
	if sw.cancel != nil && sw.cancel() {
		return errCancelled
	}
	err := sw.seal(sw.pt, nil)
	clear(sw.pt)
	sw.pt = sw.pt[:0]
	sw.blocks++
	return err
}

// writeSnapshot writes a complete snapshot of src (nil: empty) under kr and hdr (whose epoch
// is set) to a temporary file and renames it over the snapshot. It returns the file's size
// and the number of records written.
func (v *Vault) writeSnapshot(kr *keyring, hdr *header, dataKey []byte, src Source) (int64, uint64, error) {
	aead, err := kr.epochAEAD(hdr.epoch)
	if err != nil {
		return 0, 0, err
	}
	var size int64
	var records uint64
	err = writeFileAtomic(v.dir, snapshotName, func(f *os.File) error {
		sw := &snapshotWriter{bw: bufio.NewWriterSize(f, 1<<20), s: sealer{aead: aead, file: fileSnapshot, epoch: hdr.epoch},
			cancel: v.cancelled.get}
		raw := hdr.encode()
		if _, err := sw.bw.Write(raw); err != nil {
			return err
		}
		meta := []byte{blockMeta, 32}
		meta = append(meta, dataKey...)
		meta = binary.LittleEndian.AppendUint64(meta, uint64(time.Now().UnixMilli()))
		meta = binary.LittleEndian.AppendUint64(meta, 0)
		err := sw.seal(meta, raw)
		clear(meta)
		if err != nil {
			return err
		}
		if src != nil {
			if err := src.Dump(sw.add); err != nil {
				return err
			}
			if err := sw.flushRecords(); err != nil {
				return err
			}
		}
		end := []byte{blockEnd}
		end = binary.LittleEndian.AppendUint64(end, sw.records)
		end = binary.LittleEndian.AppendUint64(end, sw.blocks)
		if err := sw.seal(end, nil); err != nil {
			return err
		}
		size, records = int64(len(raw))+sw.sizeSeen, sw.records
		return sw.bw.Flush()
	})
	return size, records, err
}

func (v *Vault) requestCompaction() {
	if v.compactReq == nil {
		return
	}
	select {
	case v.compactReq <- struct{}{}:
	default:
	}
}

// journalOutgrown: the journals have grown past the compaction threshold.
func (v *Vault) journalOutgrown() bool {
	v.w.fmu.Lock()
	defer v.w.fmu.Unlock()
	return v.w.journalBytes >= max(v.o.CompactMinBytes, v.lastSnapSize)
}

// lastSnapSizeLocked is the size of the current snapshot (the journal may grow to it before a
// compaction). Called with w.fmu held; compaction updates it under the same lock.
func (v *Vault) lastSnapSizeLocked() int64 { return v.lastSnapSize }

// compactLoop compacts when the journal has grown past the threshold. A failed compaction
// (disk full) is retried no sooner than a minute later; the journal keeps working meanwhile.
func (v *Vault) compactLoop(src Source) {
	defer close(v.compactDone)
	var notBefore time.Time
	for {
		select {
		case <-v.stopCompact:
			return
		case <-v.compactReq:
		}
		if time.Now().Before(notBefore) || !v.journalOutgrown() {
			continue // a request queued while the previous compaction ran
		}
		if err := v.Compact(src); err != nil {
			if errors.Is(err, errCancelled) {
				return
			}
			notBefore = time.Now().Add(time.Minute)
			v.log.Error("vault compaction failed; the journal keeps growing until it succeeds", "path", v.dir, "error", err.Error())
		}
	}
}

// Compact folds the journals into a new snapshot: it starts a new journal (epoch+1) that takes
// every change from now on, writes a snapshot of src (write to a temporary file, fsync,
// rename, fsync of the directory) and removes the journals the snapshot includes. Changes
// made while the snapshot is written are in both the snapshot and the new journal; replaying
// the journal over the snapshot gives the same state because every entry is a whole record.
func (v *Vault) Compact(src Source) error {
	v.compactMu.Lock()
	defer v.compactMu.Unlock()
	start := time.Now()
	w := v.w
	w.fmu.Lock()
	epoch := w.epoch + 1
	w.fmu.Unlock()
	if err := v.createJournal(v.kr, epoch); err != nil {
		return err
	}
	if err := v.switchJournal(epoch); err != nil {
		// The writer stays on the current journal: the new one must not be left behind it.
		os.Remove(filepath.Join(v.dir, journalName(epoch)))
		_ = syncDir(v.dir)
		return err
	}
	hdr := v.hdr
	hdr.epoch = epoch
	size, records, err := v.writeSnapshot(v.kr, &hdr, v.dataKey, src)
	if err != nil {
		return err
	}
	w.fmu.Lock()
	v.hdr, v.hdrBytes, v.lastSnapSize = hdr, hdr.encode(), size
	w.journalBytes = w.off
	w.fmu.Unlock()
	v.removeJournalsBefore(epoch)
	v.log.Info("vault compacted", "path", v.dir, "epoch", epoch, "records", records, "bytes", size, "ms", time.Since(start).Milliseconds())
	return nil
}

// switchJournal makes the writer append to the (already created) journal of epoch.
func (v *Vault) switchJournal(epoch uint64) error {
	path := filepath.Join(v.dir, journalName(epoch))
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return newErr(IO, err, "cannot open %s: %v", path, err)
	}
	aead, err := v.kr.epochAEAD(epoch)
	if err != nil {
		f.Close()
		return err
	}
	var jf journalFile = osJournal{f}
	if v.o.wrapJournal != nil {
		jf = v.o.wrapJournal(jf)
	}
	w := v.w
	w.fmu.Lock()
	old := w.f
	if w.dirty {
		_ = old.Sync()
	}
	w.f, w.epoch, w.seq, w.off, w.dirty, w.broken = jf, epoch, 0, journalHeaderSize, false, nil
	w.seal = sealer{aead: aead, file: fileJournal, epoch: epoch}
	w.journalBytes += journalHeaderSize
	w.fmu.Unlock()
	old.Close()
	return nil
}

func (v *Vault) removeJournalsBefore(epoch uint64) {
	epochs, _, err := journalEpochs(v.dir)
	if err != nil {
		return
	}
	for _, e := range epochs {
		if e < epoch {
			os.Remove(filepath.Join(v.dir, journalName(e)))
		}
	}
	_ = syncDir(v.dir)
}

// Rekey re-seals a loaded vault (opened read-write, not started) under a new secret and/or
// binding: a new salt, new keys, a snapshot of src and an empty journal, both of a new epoch,
// replace everything. The data key (which seals the records inside) stays: the records are
// opaque to the vault. A crash midway leaves either the old vault or the new one.
func (v *Vault) Rekey(newSecret []byte, nb Binding, src Source) error {
	if v.o.ReadOnly || !v.loaded {
		return errors.New("rekey needs a vault opened read-write and loaded")
	}
	if len(newSecret) != SecretSize {
		return newErr(IO, nil, "the new secret must be exactly %d bytes", SecretSize)
	}
	epochs, _, err := journalEpochs(v.dir)
	if err != nil {
		return newErr(IO, err, "cannot list %s: %v", v.dir, err)
	}
	epoch := v.hdr.epoch
	for _, e := range epochs {
		epoch = max(epoch, e)
	}
	epoch++
	hdr := header{version: formatVersion, epoch: epoch}
	if _, err := rand.Read(hdr.salt[:]); err != nil {
		return newErr(IO, err, "random source failed")
	}
	kr, err := v.newKeyring(&hdr, newSecret, Binding{Bound: nb.Bound, Identity: bytes.Clone(nb.Identity)})
	if err != nil {
		return err
	}
	if v.w != nil {
		v.w.f.Close()
		v.w = nil
	}
	size, _, err := v.writeSnapshot(kr, &hdr, v.dataKey, src)
	if err != nil {
		kr.wipe()
		return newErr(IO, err, "writing the re-sealed snapshot failed (the vault is unchanged): %v", err)
	}
	// From here the new snapshot is the vault; a crash before the journal exists is repaired
	// at the next load (an empty journal is created).
	if err := v.createJournal(kr, epoch); err != nil {
		return err
	}
	v.removeJournalsBefore(epoch)
	v.kr.wipe()
	v.kr, v.hdr, v.hdrBytes, v.lastSnapSize = kr, hdr, hdr.encode(), size
	return nil
}
