package store

import (
	"bytes"
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// sealKV seals value || name || u16 len(name) in place into rec[kvHdr:], which must be
// kvHdr + SealedSize(len(value)+len(name)+2) bytes. The name is inside so SCAN can list
// names; the map key is only its keyed hash.
func sealKV(keys *crypto.SandboxKeys, k *key, rec, name, value []byte) error {
	buf := rec[kvHdr : len(rec)-crypto.TagSize]
	pt := buf[crypto.NonceSize:]
	copy(pt, value)
	copy(pt[len(value):], name)
	binary.LittleEndian.PutUint16(pt[len(value)+len(name):], uint16(len(name)))
	_, err := keys.SealBuffer(buf, crypto.KindKV, k)
	return err
}

func kvRecSize(name, value []byte) int {
	return kvHdr + crypto.SealedSize(len(value)+len(name)+2)
}

// openKV appends the record's plaintext to dst and splits it: out is dst extended by the value
// only; value and name alias the plaintext. The name lives past len(out), in out's capacity.
func openKV(keys *crypto.SandboxKeys, k *key, sealed, dst []byte) (out, value, name []byte, err error) {
	start := len(dst)
	full, err := keys.Open(dst, sealed, crypto.KindKV, k)
	if err != nil {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record failed to open")
	}
	pt := full[start:]
	if len(pt) < 2 {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	n := int(binary.LittleEndian.Uint16(pt[len(pt)-2:]))
	if n+2 > len(pt) {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	vlen := len(pt) - 2 - n
	return full[:start+vlen], pt[:vlen:vlen], pt[vlen : vlen+n], nil
}

// KVSet stores value under key for ttlMs, replacing any previous record (a SET is a new record:
// its 5-day cap counts from now). Returns the expiry.
func (s *Store) KVSet(sandbox, name, value []byte, ttlMs uint64) (int64, error) {
	if err := checkKey(name); err != nil {
		return 0, err
	}
	if err := s.checkValue(value, "value"); err != nil {
		return 0, err
	}
	if err := checkTTL(ttlMs, "ttlMs"); err != nil {
		return 0, err
	}
	sb, err := s.sandboxFor(sandbox, true)
	if err != nil {
		return 0, err
	}
	k := sb.keys.KVKey(name)
	sh := sb.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sb.track(sh, kindKV, &k)
	now := s.clock.NowMs()
	exp := now + int64(ttlMs)
	l, r := sh.mem.alloc(kvRecSize(name, value), kindKV, &k)
	if err := sealKV(sb.keys, &k, r, name, value); err != nil {
		sh.mem.release(l)
		return 0, xerr.New(xerr.Internal, "sealing failed")
	}
	binary.LittleEndian.PutUint64(r[kvCreated:], uint64(now))
	kvRec(r).setExpires(exp)
	sh.bytes += int64(len(kvRec(r).sealed()))
	if old, ok := sh.kv[k]; ok {
		// Keep the old record's heap entry: it becomes this record's if it is not later.
		o := kvRec(sh.mem.rec(old))
		binary.LittleEndian.PutUint32(r[kvSched:], o.sched())
		sh.bytes -= int64(len(o.sealed()))
		sh.mem.release(old)
		sh.kv[k] = l
		sb.schedule(sh, r, kvSched, exp, &k, kindKV, false)
		sh.afterFree()
		if err := c.commit(); err != nil {
			return 0, err
		}
		return exp, nil
	}
	sh.kv[k] = l
	sb.schedule(sh, r, kvSched, exp, &k, kindKV, true)
	sh.notePeaks()
	if err := c.commit(); err != nil {
		return 0, err
	}
	return exp, nil
}

// kvLookup finds a live record under the shard lock, removing it if it has expired. When it
// finds one it returns with the shard locked (the caller unlocks); otherwise unlocked.
func (s *Store) kvLookup(sandbox, name []byte) (sb *sandbox, sh *shard, k key, l uint64, now int64, found bool, err error) {
	if err = checkKey(name); err != nil {
		return
	}
	if sb, err = s.sandboxFor(sandbox, false); err != nil || sb == nil {
		return
	}
	k = sb.keys.KVKey(name)
	sh = sb.shard(&k)
	sh.mu.Lock()
	now = s.clock.NowMs()
	l, found = sh.kv[k]
	if found && kvRec(sh.mem.rec(l)).expires() <= now {
		sh.removeKV(&k, l)
		s.expired.Add(1)
		found = false
	}
	if !found {
		sh.mu.Unlock()
	}
	return
}

// KVGet appends the value to dst and returns the extended slice. found is false if the key is
// absent or expired.
func (s *Store) KVGet(sandbox, name, dst []byte) (out []byte, expiresAt int64, found bool, err error) {
	sb, sh, k, l, _, found, err := s.kvLookup(sandbox, name)
	if !found {
		return nil, 0, false, err
	}
	defer sh.mu.Unlock()
	r := kvRec(sh.mem.rec(l))
	out, _, storedName, err := openKV(sb.keys, &k, r.sealed(), dst)
	if err != nil {
		return nil, 0, false, err
	}
	same := bytes.Equal(storedName, name)
	clear(storedName)
	if !same {
		clear(out[len(dst):])
		return nil, 0, false, nil // a keyed-hash collision: never seen in practice, never served
	}
	return out, r.expires(), true, nil
}

// KVDel deletes the key; existed says whether a live record was there.
func (s *Store) KVDel(sandbox, name []byte) (bool, error) {
	sb, sh, k, l, _, found, err := s.kvLookup(sandbox, name)
	if !found {
		return false, err
	}
	c := sb.track(sh, kindKV, &k)
	sh.removeKV(&k, l)
	sh.afterFree()
	err = c.commit()
	sh.mu.Unlock()
	if err != nil {
		return false, err
	}
	return true, nil
}

// KVHas reports whether a live record exists.
func (s *Store) KVHas(sandbox, name []byte) (bool, error) {
	_, sh, _, _, _, found, err := s.kvLookup(sandbox, name)
	if found {
		sh.mu.Unlock()
	}
	return found, err
}

// KVTTL returns the remaining lifetime in ms.
func (s *Store) KVTTL(sandbox, name []byte) (int64, bool, error) {
	_, sh, _, l, now, found, err := s.kvLookup(sandbox, name)
	if !found {
		return 0, false, err
	}
	rem := kvRec(sh.mem.rec(l)).expires() - now
	sh.mu.Unlock()
	return rem, true, nil
}

// KVTouch sets a new TTL from now, never past the record's creation + 5 days.
func (s *Store) KVTouch(sandbox, name []byte, ttlMs uint64) (int64, bool, error) {
	if err := checkTTL(ttlMs, "ttlMs"); err != nil {
		return 0, false, err
	}
	sb, sh, k, l, now, found, err := s.kvLookup(sandbox, name)
	if !found {
		return 0, false, err
	}
	defer sh.mu.Unlock()
	c := sb.track(sh, kindKV, &k)
	r := kvRec(sh.mem.rec(l))
	exp := min(now+int64(ttlMs), r.created()+MaxTTLMs)
	r.setExpires(exp)
	sb.schedule(sh, r, kvSched, exp, &k, kindKV, false)
	if err := c.commit(); err != nil {
		return 0, false, err
	}
	return exp, true, nil
}

// Clear removes every KV record and session of a sandbox and returns how many there were.
func (s *Store) Clear(sandbox []byte) (uint64, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return 0, err
	}
	if sb.journal != nil {
		return sb.clearJournaled()
	}
	return sb.clearShards(), nil
}
