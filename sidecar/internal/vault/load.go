package vault

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Load reads the snapshot and replays the journals into r, checking every block. Nothing on
// disk changes until everything has been read and checked: a vault that is refused (Corrupt)
// is left exactly as it was. Then, unless read-only, a torn journal tail is cut (one warning
// with the byte count), files left over by an interrupted compaction are removed, and the
// journal is opened for appending.
func (v *Vault) Load(r Restorer) (LoadStats, error) {
	if v.loaded {
		return v.stats, errors.New("vault already loaded")
	}
	start := time.Now()
	st := LoadStats{Created: v.created, Epoch: v.hdr.epoch}
	if v.snap != nil {
		if err := v.loadSnapshot(r, &st); err != nil {
			return st, err
		}
	}
	plan, err := v.replayJournals(r, &st)
	if err != nil {
		return st, err
	}
	if !v.o.ReadOnly {
		if err := v.finishLoad(plan, &st); err != nil {
			return st, err
		}
	}
	v.loaded = true
	if !v.o.ReadOnly {
		v.lock.claim() // only now: a refused start must not touch the lock file
	}
	st.Elapsed = time.Since(start)
	v.stats = st
	return st, nil
}

func (v *Vault) loadSnapshot(r Restorer, st *LoadStats) error {
	defer func() {
		v.snap.Close()
		v.snap, v.snapRd = nil, nil
	}()
	if err := readSnapshotBody(v.snapRd, r, st); err != nil {
		return err
	}
	st.Bytes += v.snapSize
	return nil
}

// readSnapshotBody reads a snapshot's blocks after the data-key block, to the end block.
func readSnapshotBody(br *blockReader, r Restorer, st *LoadStats) error {
	var blocks uint64
	for {
		pt, err := br.next(nil)
		if err == errEnd {
			return corrupt("the snapshot ends without its end block (truncated file)")
		}
		if err != nil {
			return err
		}
		switch pt[0] {
		case blockRecords:
			blocks++
			n, err := restoreRecords(pt, r, st)
			if err != nil {
				return err
			}
			st.SnapshotRecords += n
		case blockEnd:
			f := fields{b: pt[1:]}
			records, nblocks := f.u64(), f.u64()
			if f.bad || len(f.b) != 0 || records != uint64(st.SnapshotRecords) || nblocks != blocks {
				return corrupt("the snapshot's end block does not match its content (%d records in %d blocks read)", st.SnapshotRecords, blocks)
			}
			if _, err := br.next(nil); err != errEnd {
				if err == nil {
					err = corrupt("the snapshot has data after its end block")
				}
				return err
			}
			return nil
		default:
			return corrupt("the snapshot has a block of unknown type 0x%02x", pt[0])
		}
	}
}

// restoreRecords applies a records block: 'R' | u8 len(sandbox) | sandbox | { kind u8 | key 16
// | u32 len | blob }*.
func restoreRecords(pt []byte, r Restorer, st *LoadStats) (int, error) {
	f := fields{b: pt[1:]}
	sandbox := f.take(int(f.u8()))
	if f.bad || len(sandbox) == 0 {
		return 0, corrupt("a snapshot block has a malformed sandbox name")
	}
	n := 0
	for len(f.b) > 0 {
		kind := f.u8()
		var key [16]byte
		copy(key[:], f.take(16))
		blob := f.take(int(f.u32()))
		if f.bad || kind == 0 {
			return n, corrupt("a snapshot block has a malformed record")
		}
		expired, err := r.RestorePut(sandbox, kind, &key, blob)
		if err != nil {
			return n, corrupt("a snapshot record was refused: %v", err)
		}
		if expired {
			st.Expired++
		}
		n++
	}
	return n, nil
}

// journalPlan is what finishLoad needs: which journal to append to and where.
type journalPlan struct {
	stale     []uint64 // journals older than the snapshot (already included in it)
	temps     []string
	missing   bool   // no journal for the snapshot's epoch (interrupted creation or rekey)
	last      uint64 // epoch of the journal to append to
	lastValid int64  // its length up to the last whole entry
	lastSeq   uint64 // its number of entries
	bytes     int64  // size of every journal replayed (what compaction would fold in)
}

func (v *Vault) replayJournals(r Restorer, st *LoadStats) (journalPlan, error) {
	var plan journalPlan
	epochs, temps, err := journalEpochs(v.dir)
	if err != nil {
		return plan, newErr(IO, err, "cannot list %s: %v", v.dir, err)
	}
	plan.temps = temps
	var live []uint64
	for _, e := range epochs {
		if e < v.hdr.epoch {
			plan.stale = append(plan.stale, e)
		} else {
			live = append(live, e)
		}
	}
	for i, e := range live {
		if e != v.hdr.epoch+uint64(i) {
			return plan, corrupt("journal %d is missing (journals %d..%d expected after the snapshot of epoch %d)", v.hdr.epoch+uint64(i), v.hdr.epoch, live[len(live)-1], v.hdr.epoch)
		}
	}
	if len(live) == 0 {
		plan.missing, plan.last, plan.lastValid = true, v.hdr.epoch, journalHeaderSize
		return plan, nil
	}
	for i, e := range live {
		last := i == len(live)-1
		valid, seq, err := v.replayJournal(r, e, last, st)
		if err != nil {
			return plan, err
		}
		plan.bytes += valid
		if last {
			plan.last, plan.lastValid, plan.lastSeq = e, valid, seq
		}
	}
	st.Journals = len(live)
	return plan, nil
}

// replayJournal applies one journal. Only the last may end with a torn entry.
func (v *Vault) replayJournal(r Restorer, epoch uint64, last bool, st *LoadStats) (valid int64, seq uint64, err error) {
	path := filepath.Join(v.dir, journalName(epoch))
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, newErr(IO, err, "cannot open %s: %v", path, err)
	}
	defer f.Close()
	size, err := fileSize(f)
	if err != nil {
		return 0, 0, newErr(IO, err, "cannot read %s: %v", path, err)
	}
	return readJournal(v.kr, bufio.NewReaderSize(f, 1<<20), size, epoch, last, r, st)
}

// readJournal checks and applies one journal file's content (size bytes from rd).
func readJournal(kr *keyring, rd *bufio.Reader, size int64, epoch uint64, last bool, r Restorer, st *LoadStats) (valid int64, seq uint64, err error) {
	hdr := make([]byte, journalHeaderSize)
	if size < journalHeaderSize {
		return 0, 0, corrupt("journal %d is %d bytes, shorter than its %d-byte header", epoch, size, journalHeaderSize)
	}
	if _, err := io.ReadFull(rd, hdr); err != nil {
		return 0, 0, newErr(IO, err, "cannot read journal %d: %v", epoch, err)
	}
	if err := checkJournalHeader(kr, hdr, epoch); err != nil {
		return 0, 0, err
	}
	aead, err := kr.epochAEAD(epoch)
	if err != nil {
		return 0, 0, newErr(IO, err, "key derivation failed")
	}
	br := &blockReader{r: rd, aead: aead, file: fileJournal, epoch: epoch, name: fmt.Sprintf("journal %d", epoch),
		off: journalHeaderSize, size: size, allowTorn: last}
	var e Entry
	for {
		pt, err := br.next(nil)
		if err == errEnd {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		if !decodeEntry(pt, &e) {
			return 0, 0, corrupt("journal %d: entry %d is malformed", epoch, br.seq-1)
		}
		if err := applyEntry(r, &e, st); err != nil {
			return 0, 0, corrupt("journal %d: entry %d was refused: %v", epoch, br.seq-1, err)
		}
		st.JournalEntries++
	}
	st.TornBytes += br.torn
	st.Bytes += size
	return br.off, br.seq, nil
}

func applyEntry(r Restorer, e *Entry, st *LoadStats) error {
	switch e.Op {
	case OpPut:
		expired, err := r.RestorePut(e.Sandbox, e.Kind, &e.Key, e.Blob)
		if expired {
			st.Expired++
		}
		return err
	case OpDel:
		return r.RestoreDelete(e.Sandbox, e.Kind, &e.Key)
	default:
		return r.RestoreClear(e.Sandbox)
	}
}

// finishLoad makes the directory ready for writing: cuts a torn tail, creates a missing
// journal, removes stale journals and temporary files, and opens the journal.
func (v *Vault) finishLoad(plan journalPlan, st *LoadStats) error {
	path := filepath.Join(v.dir, journalName(plan.last))
	if plan.missing {
		v.log.Warn("the vault had no journal for its snapshot (an interrupted creation or rekey): starting an empty one", "path", v.dir, "epoch", plan.last)
		if err := v.createJournal(v.kr, plan.last); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return newErr(IO, err, "cannot open %s for writing: %v", path, err)
	}
	if st.TornBytes > 0 {
		if err := f.Truncate(plan.lastValid); err != nil {
			f.Close()
			return newErr(IO, err, "cannot cut the torn tail of %s: %v", path, err)
		}
		if err := fdatasync(f); err != nil {
			f.Close()
			return newErr(IO, err, "cannot flush %s: %v", path, err)
		}
		v.log.Warn("cut a torn tail off the journal (an entry the last process was writing when it stopped)",
			"path", path, "bytes", st.TornBytes, "keptBytes", plan.lastValid)
	}
	for _, e := range plan.stale {
		os.Remove(filepath.Join(v.dir, journalName(e)))
	}
	for _, t := range plan.temps {
		os.Remove(filepath.Join(v.dir, t))
	}
	if len(plan.stale)+len(plan.temps) > 0 {
		_ = syncDir(v.dir)
	}
	aead, err := v.kr.epochAEAD(plan.last)
	if err != nil {
		f.Close()
		return newErr(IO, err, "key derivation failed")
	}
	var jf journalFile = osJournal{f}
	if v.o.wrapJournal != nil {
		jf = v.o.wrapJournal(jf)
	}
	v.w = newWriter(v, jf, plan.last, plan.lastSeq, plan.lastValid, aead)
	v.w.journalBytes = max(plan.bytes, plan.lastValid)
	return nil
}
