package store

import (
	"bytes"
	"slices"
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Persistence hook. When persistence is on, every change to a record goes through ONE path:
//
//	c := sb.track(sh, kind, &k)   // before the first change to the record (shard locked)
//	... change, insert or remove the record ...
//	if err := c.commit(); err != nil { return ..., err }   // still under the same lock
//
// commit journals the record's new state (its bytes, or its removal) and waits until the
// journal has it; if the journal refuses (disk full, read-only, I/O error) it restores the
// record as track saw it and returns PERSIST_FAILED, so the request fails and memory holds
// exactly what was acknowledged. The shard stays locked from track to commit, so nobody sees
// a change before it is durable or after it was undone. With persistence off track returns
// nil and commit does nothing. Expiry is not journaled: records carry absolute expiry times
// and a load skips the expired ones. See docs/sidecar-internals.md ("Persistence").

// Journal receives the store's changes (the vault implements it). Records are opaque to it:
// a (sandbox, kind, key) and a blob that only RestorePut understands.
type Journal interface {
	// Put journals the new state of a record; blob is valid only during the call. With wait it
	// returns once the change is as durable as configured, or an error.
	Put(sandbox string, kind uint8, key *[16]byte, blob []byte, wait bool) error
	// Delete journals the removal of a record (waiting).
	Delete(sandbox string, kind uint8, key *[16]byte) error
	// Clear journals the removal of every record of a sandbox (waiting).
	Clear(sandbox string) error
}

// SetJournal turns journaling on: call it after the vault was loaded into the store and
// before the store serves requests.
func (s *Store) SetJournal(j Journal) {
	s.sandboxes.Locked(func(all map[string]*sandbox) {
		s.journal = j
		for _, sb := range all {
			sb.journal = j
		}
	})
}

// change is a record's state captured before a mutation.
type change struct {
	sb   *sandbox
	sh   *shard
	kind uint8
	k    key
	had  bool
	rec  []byte   // the record's bytes (common header included) before the change
	hist []uint32 // its rotation history, for a session that has one
	dev  []byte   // its sealed device part, for a device-bound session
}

func (sh *shard) index(kind uint8) map[key]uint64 {
	if kind == kindKV {
		return sh.kv
	}
	return sh.sess
}

// track captures record (kind, k) before a mutation changes it. Caller holds sh.mu and keeps
// it until commit. nil when persistence is off.
func (sb *sandbox) track(sh *shard, kind uint8, k *key) *change {
	if sb.journal == nil {
		return nil
	}
	c := &change{sb: sb, sh: sh, kind: kind, k: *k}
	if l, ok := sh.index(kind)[*k]; ok {
		c.had = true
		c.rec = bytes.Clone(sh.mem.rec(l))
		if kind == kindSess && sessRec(c.rec).flags()&flagHist != 0 {
			c.hist = slices.Clone(sh.hist[*k])
		}
		if kind == kindSess && sessRec(c.rec).flags()&flagDevice != 0 {
			c.dev = sh.dev[*k] // never changed in place: replaced whole
		}
	}
	return c
}

// commit journals the record's state after the mutation and waits for it; on failure it undoes
// the mutation and returns PERSIST_FAILED.
func (c *change) commit() error {
	if c == nil {
		return nil
	}
	if err := c.journal(true); err != nil {
		c.undo()
		return persistFailed(err)
	}
	return nil
}

// persistFailed is the PERSIST_FAILED error of a change the journal refused. The journal's
// message (the vault's: the OS error, never record content) says why.
func persistFailed(err error) error {
	msg := "the change could not be written to the vault and was not made"
	if d, ok := err.(interface{ Detail() string }); ok {
		msg = d.Detail()
	}
	return xerr.New(xerr.PersistFailed, "%s", msg)
}

// commitLazy journals without waiting, for changes nobody waits for (the last-seen time that
// slides an idle timeout). If the write fails later, memory keeps the newer state; the next
// journaled change of the record, or the next snapshot, writes it.
func (c *change) commitLazy() {
	if c != nil {
		_ = c.journal(false)
	}
}

var blobPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (c *change) journal(wait bool) error {
	sh := c.sh
	if l, ok := sh.index(c.kind)[c.k]; ok {
		bp := blobPool.Get().(*[]byte)
		blob := sh.appendBlob((*bp)[:0], c.kind, &c.k, l)
		err := c.sb.journal.Put(c.sb.name, c.kind, (*[16]byte)(&c.k), blob, wait)
		*bp = blob[:0]
		blobPool.Put(bp)
		return err
	}
	if c.had {
		return c.sb.journal.Delete(c.sb.name, c.kind, (*[16]byte)(&c.k))
	}
	return nil
}

// undo puts the record back as track captured it. The shard has stayed locked since track, so
// the captured record's expiry-heap entry is still in the heap.
func (c *change) undo() {
	sh, sb := c.sh, c.sb
	if l, ok := sh.index(c.kind)[c.k]; ok {
		if c.kind == kindKV {
			sh.removeKV(&c.k, l)
		} else {
			sb.removeSession(sh, &c.k, l)
		}
	}
	if !c.had {
		return
	}
	l, r := sh.mem.alloc(len(c.rec), c.kind, &c.k)
	copy(r, c.rec)
	if c.kind == kindKV {
		sh.kv[c.k] = l
		sh.bytes += int64(len(kvRec(r).sealed()))
	} else {
		sr := sessRec(r)
		sh.sess[c.k] = l
		sh.bytes += int64(len(sr.sealed()))
		if sr.hasUser() {
			u := sr.user()
			sb.indexAdd(&u, &c.k)
		}
		if len(c.hist) > 0 {
			sh.hist[c.k] = c.hist
		}
		if c.dev != nil {
			sh.dev[c.k] = c.dev
		}
	}
	sh.notePeaks()
}
