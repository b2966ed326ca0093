package vault

import (
	"crypto/cipher"
	"encoding/binary"
	"log/slog"
	"sync"
	"time"
)

// writer appends entries to the journal with group commit: callers queue plaintext entries
// and (for changes a client waits for) block until the batch holding theirs is written, and
// with fsync "always" flushed to the disk. One goroutine seals and writes every batch, so the
// entries of concurrent changes share one write and one flush. Sequence numbers are given at
// write time: a batch that fails is cut off the file and its numbers are reused, so the
// journal never has a gap.
type writer struct {
	v    *Vault
	mode Fsync
	log  *slog.Logger

	mu      sync.Mutex
	pending []byte // queued entries: u32 len | entry, ...
	batch   *batch // the batch the queued entries belong to
	closed  bool
	started bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}

	// fmu guards the file state below: held by the flusher while it writes a batch and by
	// compaction while it switches to a new journal.
	fmu          sync.Mutex
	f            journalFile
	epoch        uint64
	seq          uint64
	off          int64
	seal         sealer
	dirty        bool  // written since the last flush to the disk
	broken       error // a failed write could not be cut off: nothing is written until fixed
	journalBytes int64 // bytes of every journal since the snapshot
	failures     uint64
	lastFailLog  time.Time
	spare, out   []byte
}

type batch struct {
	done chan struct{}
	err  error
}

func newWriter(v *Vault, f journalFile, epoch, seq uint64, off int64, aead cipher.AEAD) *writer {
	return &writer{
		v: v, mode: v.o.Fsync, log: v.log, f: f, epoch: epoch, seq: seq, off: off,
		seal: sealer{aead: aead, file: fileJournal, epoch: epoch},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
}

func (w *writer) start() {
	w.started = true
	go w.run()
}

// append queues one entry; with wait it returns the outcome of its batch.
func (w *writer) append(op byte, sandbox string, kind uint8, key *[16]byte, blob []byte, wait bool) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return newErr(WriteFailed, nil, "the vault is closed (the sidecar is shutting down)")
	}
	start := len(w.pending)
	w.pending = append(w.pending, 0, 0, 0, 0)
	w.pending = appendEntry(w.pending, op, sandbox, kind, key, blob)
	binary.LittleEndian.PutUint32(w.pending[start:], uint32(len(w.pending)-start-4))
	b := w.batch
	if b == nil {
		b = &batch{done: make(chan struct{})}
		w.batch = b
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	if !wait {
		return nil
	}
	<-b.done
	return b.err
}

func (w *writer) run() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.mode == FsyncEverySec {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-w.wake:
			w.flush()
		case <-tick:
			w.syncIfDirty()
		case <-w.quit:
			w.flush()
			w.syncIfDirty()
			return
		}
	}
}

// flush writes the queued batch and tells its waiters the outcome.
func (w *writer) flush() {
	w.mu.Lock()
	buf, b := w.pending, w.batch
	w.pending, w.batch, w.spare = w.spare[:0], nil, nil
	w.mu.Unlock()
	if b == nil {
		w.spare = buf[:0]
		return
	}
	b.err = w.write(buf)
	clear(buf)
	w.spare = buf[:0]
	close(b.done)
}

func (w *writer) write(buf []byte) error {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	if w.broken != nil {
		if err := w.f.Truncate(w.off); err != nil {
			return w.fail(err)
		}
		w.broken = nil
	}
	out := w.out[:0]
	seq := w.seq
	var err error
	for p := buf; len(p) > 0; {
		n := binary.LittleEndian.Uint32(p)
		if out, err = w.seal.appendBlock(out, p[4:4+n], seq, nil); err != nil {
			return w.fail(err)
		}
		p = p[4+n:]
		seq++
	}
	w.out = out
	if _, err := w.f.WriteAt(out, w.off); err != nil {
		return w.undoWrite(err)
	}
	if w.mode == FsyncAlways {
		if err := w.f.Sync(); err != nil {
			return w.undoWrite(err)
		}
	} else {
		w.dirty = true
	}
	w.off += int64(len(out))
	w.journalBytes += int64(len(out))
	w.seq = seq
	if w.failures > 0 {
		w.log.Warn("vault writes succeed again", "failedWrites", w.failures)
		w.failures = 0
	}
	if w.journalBytes >= max(w.v.o.CompactMinBytes, w.v.lastSnapSizeLocked()) { // see journalOutgrown
		w.v.requestCompaction()
	}
	return nil
}

// undoWrite cuts a failed (possibly partial) write off the file, so the next batch is written
// right after the last whole entry.
func (w *writer) undoWrite(cause error) error {
	if err := w.f.Truncate(w.off); err != nil {
		w.broken = err
	}
	return w.fail(cause)
}

// fail logs a write failure (at most one line per 10 s, with a count) and returns the error
// the waiting changes get.
func (w *writer) fail(cause error) error {
	w.failures++
	if now := time.Now(); w.failures == 1 || now.Sub(w.lastFailLog) >= 10*time.Second {
		w.lastFailLog = now
		w.log.Error("vault write failed: the change was not made", "path", w.v.dir, "error", cause.Error(), "failedWrites", w.failures)
	}
	return newErr(WriteFailed, cause, "the vault could not be written (%v); the change was not made", cause)
}

func (w *writer) syncIfDirty() {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	if !w.dirty {
		return
	}
	if err := w.f.Sync(); err != nil {
		w.log.Error("vault flush to disk failed", "path", w.v.dir, "error", err.Error())
		return
	}
	w.dirty = false
}

// close writes what is queued, flushes the file to the disk and closes it.
func (w *writer) close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.started {
		close(w.quit)
		<-w.done
	}
	w.fmu.Lock()
	defer w.fmu.Unlock()
	if w.dirty {
		if err := w.f.Sync(); err != nil {
			w.f.Close()
			return newErr(IO, err, "flushing the journal failed: %v", err)
		}
	}
	return w.f.Close()
}

// Put journals the new state of a record. With wait it returns once the change is written
// (and, with fsync "always", on the disk), or a WriteFailed error: the caller must then undo
// the change. Without wait it never fails (used for changes nobody waits for, such as the
// last-seen time of a session).
func (v *Vault) Put(sandbox string, kind uint8, key *[16]byte, blob []byte, wait bool) error {
	return v.w.append(OpPut, sandbox, kind, key, blob, wait)
}

// Delete journals the removal of a record (waiting, like Put with wait).
func (v *Vault) Delete(sandbox string, kind uint8, key *[16]byte) error {
	return v.w.append(OpDel, sandbox, kind, key, nil, true)
}

// Clear journals the removal of every record of a sandbox (waiting).
func (v *Vault) Clear(sandbox string) error {
	var zero [16]byte
	return v.w.append(OpClear, sandbox, 0, &zero, nil, true)
}

// Start starts the journal writer and background compaction (which reads src).
func (v *Vault) Start(src Source) {
	v.w.start()
	v.compactReq = make(chan struct{}, 1)
	v.stopCompact = make(chan struct{})
	v.compactDone = make(chan struct{})
	go v.compactLoop(src)
}
