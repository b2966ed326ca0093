package store

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// KVSet stores value under key for ttlMs, replacing any previous record (a SET is a new record:
// its 5-day cap counts from now). Returns the expiry.
func (s *Store) KVSet(dl session.Deadline, sandbox, name, value []byte, ttlMs uint64) (int64, error) {
	if err := session.CheckKVSet(name, value, ttlMs, s.maxValue); err != nil {
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
	now := s.clock.NowMs()
	if dl.Passed(now) {
		return 0, session.ErrDeadline()
	}
	c := sb.track(sh, kindKV, &k)
	exp := now + int64(ttlMs)
	l, r := sh.mem.alloc(kvRecSize(name, value), kindKV, &k)
	if err := sealKV(sb.keys, &k, r, name, value); err != nil {
		sh.mem.release(l)
		return 0, err
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
	if err = session.CheckKey(name); err != nil {
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
		s.m.Expired.Add(1)
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
	out, ok, err := sb.keys.OpenNamed(dst, r.sealed(), crypto.KindKV, &k, name)
	if !ok {
		return nil, 0, false, err
	}
	return out, r.expires(), true, nil
}

// KVDel deletes the key; existed says whether a live record was there.
func (s *Store) KVDel(dl session.Deadline, sandbox, name []byte) (bool, error) {
	sb, sh, k, l, now, found, err := s.kvLookup(sandbox, name)
	if !found {
		return false, err
	}
	if dl.Passed(now) {
		sh.mu.Unlock()
		return false, session.ErrDeadline()
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
func (s *Store) KVTouch(dl session.Deadline, sandbox, name []byte, ttlMs uint64) (int64, bool, error) {
	if err := session.CheckTTL(ttlMs, "ttlMs"); err != nil {
		return 0, false, err
	}
	sb, sh, k, l, now, found, err := s.kvLookup(sandbox, name)
	if !found {
		return 0, false, err
	}
	defer sh.mu.Unlock()
	if dl.Passed(now) {
		return 0, false, session.ErrDeadline()
	}
	c := sb.track(sh, kindKV, &k)
	r := kvRec(sh.mem.rec(l))
	exp := min(now+int64(ttlMs), r.created()+session.MaxTTLMs)
	r.setExpires(exp)
	sb.schedule(sh, r, kvSched, exp, &k, kindKV, false)
	if err := c.commit(); err != nil {
		return 0, false, err
	}
	return exp, true, nil
}

// Clear removes every KV record and session of a sandbox and returns how many there were.
// With persistence on the clear is one journaled step under every shard's lock; without, it
// runs shard by shard (records written meanwhile may survive it) and its deadline is checked
// before the first.
func (s *Store) Clear(dl session.Deadline, sandbox []byte) (uint64, error) {
	sb, err := s.sandboxFor(sandbox, false)
	if err != nil || sb == nil {
		return 0, err
	}
	if sb.journal != nil {
		return sb.clearJournaled(dl, s.clock)
	}
	if dl.Passed(s.clock.NowMs()) {
		return 0, session.ErrDeadline()
	}
	return sb.clearShards(), nil
}
