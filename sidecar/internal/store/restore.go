package store

import (
	"encoding/binary"
	"sort"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Loading the vault and writing its snapshots: a record's blob (the form the vault keeps),
// RestorePut, RestoreDelete, RestoreClear (the load replays them) and Dump (a snapshot).

// Blob: the record's bytes after the arena's common header (length, kind, key: the vault
// stores kind and key itself), then the session's history beyond prevPresented
// (session.State.Older: u32 each, oldest first), then u8 blobLayout | the number of history
// entries. KV records have an empty history.
//
// A blob without blobLayout in its last byte was written before sessions kept their first
// presentations: its session records lack the fields presented and prevPresented (legacyGap
// bytes at sPresented), and its history holds issue times. RestorePut installs it in the
// current layout (session.State.FromIssueTimes), so vaults of that version load as they are.
const (
	blobLayout = 0x80
	legacyGap  = sLastSeen - sPresented
)

func (sh *shard) appendBlob(dst []byte, kind uint8, k *key, l uint64) []byte {
	r := sh.mem.rec(l)
	dst = append(dst, r[recHdr:]...)
	var hist []uint32
	if kind == kindSess && sessRec(r).flags()&flagHist != 0 {
		hist = sh.hist[*k]
	}
	for _, h := range hist {
		dst = binary.LittleEndian.AppendUint32(dst, h)
	}
	var last byte
	if kind == kindSess && sessRec(r).flags()&flagDevice != 0 {
		dst, last = appendDevicePart(dst, sh.dev[*k]), blobDevice
	}
	return append(dst, blobLayout|last|byte(len(hist)))
}

// splitBlob checks a blob's structure and splits it into record body and history; legacy:
// the body is a session record of the layout before blobLayout.
func splitBlob(kind uint8, blob []byte) (body []byte, hist []uint32, legacy, ok bool) {
	if len(blob) < 1 {
		return nil, nil, false, false
	}
	last := blob[len(blob)-1]
	legacy = last&blobLayout == 0
	if !legacy && last&blobDevice != 0 {
		// The device part sits before the last byte; RestorePut reads it (devicePart).
		rest, _, ok := splitDevicePart(blob[:len(blob)-1])
		if !ok || kind != kindSess {
			return nil, nil, false, false
		}
		blob = append(rest[:len(rest):len(rest)], last&^blobDevice)
	}
	n, max, gap := int(last&^(blobLayout|blobDevice)), session.MaxOlder, 0
	if legacy {
		max, gap = session.HistoryCap, legacyGap // the issue times of up to 32 generations
	}
	end := len(blob) - 1 - 4*n
	if n > max || end < 0 {
		return nil, nil, false, false
	}
	body = blob[:end]
	switch kind {
	case kindKV:
		if n != 0 || recHdr+len(body) < kvHdr+crypto.Overhead {
			return nil, nil, false, false
		}
	case kindSess:
		if recHdr+len(body)+gap < sHdr+crypto.Overhead {
			return nil, nil, false, false
		}
		flags := body[sFlags-gap-recHdr]
		if recHdr+len(body)+gap < sessHdrSize(flags)+crypto.Overhead {
			return nil, nil, false, false
		}
	default:
		return nil, nil, false, false
	}
	for i := 0; i < n; i++ {
		hist = append(hist, binary.LittleEndian.Uint32(blob[end+4*i:]))
	}
	return body, hist, legacy && kind == kindSess, true
}

// RestorePut installs a record read from the vault, without journaling it. A record that has
// expired is not installed (and an earlier version is removed): expired reports it.
func (s *Store) RestorePut(sandbox []byte, kind uint8, k *[16]byte, blob []byte) (bool, error) {
	body, hist, legacy, ok := splitBlob(kind, blob)
	if !ok {
		return false, xerr.New(xerr.Internal, "malformed record (kind %d, %d bytes)", kind, len(blob))
	}
	sb, err := s.sandboxFor(sandbox, true)
	if err != nil {
		return false, err
	}
	key := key(*k)
	sh := sb.shard(&key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sb.restoreRemove(sh, kind, &key)
	now := s.clock.NowMs()
	if kind == kindKV {
		l, r := sh.mem.alloc(recHdr+len(body), kind, &key)
		copy(r[recHdr:], body)
		kr := kvRec(r)
		if kr.expires() <= now {
			sh.mem.release(l)
			return true, nil
		}
		sh.kv[key] = l
		sh.bytes += int64(len(kr.sealed()))
		sb.schedule(sh, r, kvSched, kr.expires(), &key, kindKV, true)
		sh.notePeaks()
		return false, nil
	}
	var l uint64
	var sr sessRec
	if legacy {
		l, sr = upgradeLegacy(sh, &key, body, &hist)
	} else {
		var r []byte
		l, r = sh.mem.alloc(recHdr+len(body), kind, &key)
		copy(r[recHdr:], body)
		sr = sessRec(r)
	}
	if sr.expiresAt() <= now {
		sh.mem.release(l)
		return true, nil
	}
	sr.setFlag(flagHist, false)
	sh.setHistory(&key, sr, hist)
	sr.setFlag(flagDevice, false)
	if dev, ok := devicePart(blob); ok {
		sh.dev[key] = dev
		sr.setFlag(flagDevice, true)
	}
	sb.link(sh, &key, l)
	return false, nil
}

// upgradeLegacy allocates the record of a legacy session body in the current layout: the
// body around the gap, then the presentations taken from the issue times (*hist becomes the
// history of the current layout).
func upgradeLegacy(sh *shard, k *key, body []byte, hist *[]uint32) (uint64, sessRec) {
	l, r := sh.mem.alloc(recHdr+len(body)+legacyGap, kindSess, k)
	copy(r[recHdr:sPresented], body)
	copy(r[sLastSeen:], body[sPresented-recHdr:])
	sr := sessRec(r)
	var st session.State
	sr.state(&st, nil)
	st.FromIssueTimes(*hist)
	sr.setRotation(&st)
	*hist = st.Older
	return l, sr
}

// RestoreDelete removes a record while loading the vault.
func (s *Store) RestoreDelete(sandbox []byte, kind uint8, k *[16]byte) error {
	if kind != kindKV && kind != kindSess {
		return xerr.New(xerr.Internal, "unknown record kind %d", kind)
	}
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return err
	}
	key := key(*k)
	sh := sb.shard(&key)
	sh.mu.Lock()
	sb.restoreRemove(sh, kind, &key)
	sh.mu.Unlock()
	return nil
}

func (sb *sandbox) restoreRemove(sh *shard, kind uint8, k *key) {
	if l, ok := sh.index(kind)[*k]; ok {
		if kind == kindKV {
			sh.removeKV(k, l)
		} else {
			sb.removeSession(sh, k, l)
		}
	}
}

// RestoreClear empties a sandbox while loading the vault.
func (s *Store) RestoreClear(sandbox []byte) error {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return err
	}
	sb.clearShards()
	return nil
}

// clearShards empties every shard of the sandbox and the per-user index.
func (sb *sandbox) clearShards() uint64 {
	var n uint64
	for i := range sb.shards {
		sh := &sb.shards[i]
		sh.mu.Lock()
		n += sb.clearShardLocked(sh)
		sh.mu.Unlock()
	}
	return n
}

func (sb *sandbox) clearShardLocked(sh *shard) uint64 {
	n := uint64(len(sh.kv) + len(sh.sess))
	for k, l := range sh.sess {
		if r := sessRec(sh.mem.rec(l)); r.hasUser() {
			u := r.user()
			sb.indexRemove(&u, &k)
		}
	}
	sh.init()
	return n
}

// clearJournaled is CLEAR with persistence on: every shard of the sandbox is locked (in
// order; no other operation holds two record shards), the clear is journaled, and only then
// are the records removed, so a failed write changes nothing.
func (sb *sandbox) clearJournaled(dl session.Deadline, clock session.Clock) (uint64, error) {
	for i := range sb.shards {
		sb.shards[i].mu.Lock()
	}
	defer func() {
		for i := range sb.shards {
			sb.shards[i].mu.Unlock()
		}
	}()
	if dl.Passed(clock.NowMs()) {
		return 0, session.ErrDeadline()
	}
	if err := sb.journal.Clear(sb.name); err != nil {
		return 0, persistFailed(err)
	}
	var n uint64
	for i := range sb.shards {
		n += sb.clearShardLocked(&sb.shards[i])
	}
	return n, nil
}

// Dump calls fn for every live record (a vault snapshot), sandbox by sandbox in name order.
// Each shard's records are copied under its lock; fn runs with no lock held.
func (s *Store) Dump(fn func(sandbox string, kind uint8, key *[16]byte, blob []byte) error) error {
	sbs := s.sandboxes.All()
	sort.Slice(sbs, func(i, j int) bool { return sbs[i].name < sbs[j].name })
	var buf []byte
	for _, sb := range sbs {
		for i := range sb.shards {
			buf = sb.copyShard(&sb.shards[i], buf[:0], s.clock.NowMs())
			for p := buf; len(p) > 0; {
				kind := p[0]
				k := (*[16]byte)(p[1:17])
				n := binary.LittleEndian.Uint32(p[17:])
				if err := fn(sb.name, kind, k, p[21:21+n]); err != nil {
					return err
				}
				p = p[21+n:]
			}
		}
	}
	clear(buf)
	return nil
}

// copyShard appends kind u8 | key 16 | u32 len | blob for every live record of the shard.
func (sb *sandbox) copyShard(sh *shard, dst []byte, now int64) []byte {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	add := func(kind uint8, k key, l uint64) {
		dst = append(dst, kind)
		dst = append(dst, k[:]...)
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		dst = sh.appendBlob(dst, kind, &k, l)
		binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	}
	for k, l := range sh.kv {
		if kvRec(sh.mem.rec(l)).expires() > now {
			add(kindKV, k, l)
		}
	}
	for k, l := range sh.sess {
		if sessRec(sh.mem.rec(l)).expiresAt() > now {
			add(kindSess, k, l)
		}
	}
	return dst
}
