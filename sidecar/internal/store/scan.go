package store

import (
	"bytes"
	"encoding/base64"
	"slices"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// scanBudget bounds the records one SCAN call examines, so a rare prefix over a large sandbox
// returns a short (even empty) page with a cursor instead of one long call.
const scanBudget = 8192

// Cursor layout (base64url, no padding): version (1) || shard (1) || last key examined (16).
// "" starts a scan. The order within a shard is the order of the keyed hashes, so it is
// stable while keys come and go: every key present for the whole scan is returned, at least
// once; keys added or removed meanwhile may or may not be.
const cursorVersion = 1

type scanCursor struct {
	shard   int
	after   key
	hasLast bool
}

func parseCursor(c []byte) (scanCursor, error) {
	var sc scanCursor
	if len(c) == 0 {
		return sc, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(string(c))
	if err != nil || len(raw) != 2+len(sc.after) || raw[0] != cursorVersion || int(raw[1]) >= nShards {
		return sc, session.ErrBadCursor()
	}
	sc.shard = int(raw[1])
	copy(sc.after[:], raw[2:])
	sc.hasLast = true
	return sc, nil
}

func (sc scanCursor) String() string {
	raw := append([]byte{cursorVersion, byte(sc.shard)}, sc.after[:]...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

type scanItem struct {
	k    key
	name []byte
}

// KVScan returns up to limit live key names starting with prefix, and the cursor of the next
// page ("" when the scan is complete).
func (s *Store) KVScan(sandbox, prefix, cursor []byte, limit uint32) ([][]byte, string, error) {
	if err := session.CheckScan(prefix, limit); err != nil {
		return nil, "", err
	}
	sc, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return nil, "", err
	}
	var names [][]byte
	examined := 0
	for ; sc.shard < nShards; sc.shard, sc.hasLast = sc.shard+1, false {
		items, err := sb.collect(&sb.shards[sc.shard], sc, s.clock.NowMs())
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			if bytes.HasPrefix(it.name, prefix) {
				names = append(names, it.name)
			}
			examined++
			sc.after, sc.hasLast = it.k, true
			if len(names) == int(limit) || examined >= scanBudget {
				return names, sc.String(), nil
			}
		}
	}
	return names, "", nil
}

// collect returns the names of the live records of a shard after the cursor, in keyed-hash
// order. Records are opened under the lock: the arena may move them once it is released.
func (sb *sandbox) collect(sh *shard, sc scanCursor, now int64) ([]scanItem, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	type cand struct {
		k key
		l uint64
	}
	cands := make([]cand, 0, len(sh.kv))
	for k, l := range sh.kv {
		if kvRec(sh.mem.rec(l)).expires() > now && (!sc.hasLast || bytes.Compare(k[:], sc.after[:]) > 0) {
			cands = append(cands, cand{k, l})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return bytes.Compare(a.k[:], b.k[:]) })
	if len(cands) > scanBudget {
		cands = cands[:scanBudget]
	}
	items := make([]scanItem, 0, len(cands))
	for _, c := range cands {
		_, value, name, err := sb.keys.OpenKV(nil, kvRec(sh.mem.rec(c.l)).sealed(), crypto.KindKV, &c.k)
		if err != nil {
			return nil, err
		}
		clear(value)
		items = append(items, scanItem{k: c.k, name: name})
	}
	return items, nil
}
