package redisstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// KV_SCAN and CLEAR: both walk every master with Redis's SCAN.

// scanBudget bounds the records one call examines, like the memory store's.
const scanBudget = 8192

// maxPending bounds the keys a cursor carries (see redisCursor): a SCAN step returns at most
// its COUNT keys plus one hash bucket's chain, so the leftover of a step is far below it.
const maxPending = 1024

// A cursor (base64url): 'r' || node u8 || Redis SCAN cursor u64 || n u16 || n x [16] key hash.
// node indexes the masters sorted by address. A SCAN step returns the keys of whole hash
// buckets; when a page fills up inside a step, the rest of that step's keys travel in the
// cursor (their keyed hashes: no name) and the next call reads them first, then goes on with
// the next step. No step is ever repeated, so Redis's own SCAN guarantee carries over: every
// key present for the whole scan is returned at least once.
type redisCursor struct {
	node    int
	scan    uint64
	pending []key
}

const cursorMark = 'r'

func parseCursor(c []byte) (redisCursor, error) {
	var rc redisCursor
	if len(c) == 0 {
		return rc, nil
	}
	bad := session.ErrBadCursor()
	raw, err := base64.RawURLEncoding.Strict().DecodeString(string(c))
	if err != nil || len(raw) < 12 || raw[0] != cursorMark {
		return rc, bad
	}
	rc.node = int(raw[1])
	rc.scan = binary.BigEndian.Uint64(raw[2:])
	n := int(binary.BigEndian.Uint16(raw[10:]))
	if n > maxPending || len(raw) != 12+16*n {
		return rc, bad
	}
	rc.pending = make([]key, n)
	for i := range rc.pending {
		copy(rc.pending[i][:], raw[12+16*i:])
	}
	return rc, nil
}

func (rc redisCursor) String() string {
	raw := make([]byte, 0, 12+16*len(rc.pending))
	raw = append(raw, cursorMark, byte(rc.node))
	raw = binary.BigEndian.AppendUint64(raw, rc.scan)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(rc.pending)))
	for _, k := range rc.pending {
		raw = append(raw, k[:]...)
	}
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
	rc, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return nil, "", err
	}
	var names [][]byte
	next := ""
	err = s.do(func(ctx context.Context) error {
		// take adds items to the page until it is full; what does not fit becomes pending.
		take := func(items []scanItem) {
			for i, it := range items {
				if len(names) == int(limit) {
					for _, rest := range items[i:] {
						rc.pending = append(rc.pending, rest.k)
					}
					return
				}
				if bytes.HasPrefix(it.name, prefix) {
					names = append(names, it.name)
				}
			}
		}
		if len(rc.pending) > 0 {
			items, err := s.openPending(ctx, sb, rc.pending)
			if err != nil {
				return err
			}
			rc.pending = nil
			take(items)
		}
		nodes, err := s.masters(ctx)
		if err != nil {
			return err
		}
		pattern := s.prefix + sb.label + ":k:*"
		for examined := 0; len(rc.pending) == 0 && len(names) < int(limit) && rc.node < len(nodes); {
			if examined >= scanBudget {
				next = rc.String()
				return nil
			}
			count := int64(min(max(int(limit)-len(names), 100), 1000))
			keys, after, err := nodes[rc.node].Scan(ctx, rc.scan, pattern, count).Result()
			if err != nil {
				return err
			}
			examined += int(count)
			items, err := s.openNames(ctx, nodes[rc.node], sb, keys)
			if err != nil {
				return err
			}
			take(items)
			rc.scan = after
			if after == 0 {
				rc.node++
			}
		}
		if len(rc.pending) > maxPending {
			// Never seen: a step far larger than its COUNT. Serve the excess now, over the limit,
			// rather than drop it.
			items, err := s.openPending(ctx, sb, rc.pending[maxPending:])
			if err != nil {
				return err
			}
			for _, it := range items {
				if bytes.HasPrefix(it.name, prefix) {
					names = append(names, it.name)
				}
			}
			rc.pending = rc.pending[:maxPending]
		}
		if len(rc.pending) > 0 || (len(names) == int(limit) && rc.node < len(nodes)) {
			next = rc.String()
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return names, next, nil
}

// openPending reads the records a cursor carried over (those deleted meanwhile are skipped).
func (s *Store) openPending(ctx context.Context, sb *sandbox, pending []key) ([]scanItem, error) {
	cmds := make([]*redis.StringCmd, len(pending))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range pending {
			cmds[i] = p.HGet(ctx, s.kvKey(sb, &pending[i]), "v")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	items := make([]scanItem, 0, len(pending))
	for i := range pending {
		sealed, err := cmds[i].Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		_, value, name, err := sb.keys.OpenKV(nil, []byte(sealed), kindValue, &pending[i])
		if err != nil {
			return nil, err
		}
		clear(value)
		items = append(items, scanItem{k: pending[i], name: name})
	}
	return items, nil
}

// openNames reads and opens the records of one SCAN step, in keyed-hash order. Records that
// vanished meanwhile are skipped.
func (s *Store) openNames(ctx context.Context, node *redis.Client, sb *sandbox, keys []string) ([]scanItem, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGet(ctx, k, "v")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	items := make([]scanItem, 0, len(keys))
	for i, rk := range keys {
		sealed, err := cmds[i].Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		raw, err := b64.DecodeString(rk[strings.LastIndexByte(rk, ':')+1:])
		if err != nil || len(raw) != len(key{}) {
			continue // not one of ours
		}
		var k key
		copy(k[:], raw)
		_, value, name, err := sb.keys.OpenKV(nil, []byte(sealed), kindValue, &k)
		if err != nil {
			return nil, err
		}
		clear(value)
		items = append(items, scanItem{k: k, name: name})
	}
	slices.SortFunc(items, func(a, b scanItem) int { return bytes.Compare(a.k[:], b.k[:]) })
	return items, nil
}

// Clear removes every KV record and session of a sandbox (and its user indexes) and returns
// how many records and sessions there were. It visits every master with SCAN: records written
// while it runs may survive it, as with the memory store's shard-by-shard clear.
//
// Its deadline is checked once, by Redis's clock, before it starts: a CLEAR is not one atomic
// step, and one that has begun runs to the end.
func (s *Store) Clear(dl session.Deadline, sandbox []byte) (uint64, error) {
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return 0, err
	}
	return s.unlinkMatching(dl, sb, s.prefix+sb.label+":*", func(string) bool { return true })
}

// unlinkMatching is CLEAR's and S_REVOKE_SANDBOX's walk: after the deadline check (once, by
// Redis's clock: a walk is not one atomic step, and one that has begun runs to the end), it
// visits every master (a cluster's too) with SCAN over pattern in batches of 1000 keys and
// unlinks the keys of each batch that keep accepts in one pipeline, so no script runs long. It
// returns how many records and sessions it removed.
func (s *Store) unlinkMatching(dl session.Deadline, sb *sandbox, pattern string, keep func(string) bool) (uint64, error) {
	var removed uint64
	err := s.do(func(ctx context.Context) error {
		if err := scriptDeadline.Run(ctx, s.rdb, nil, ms(int64(dl))).Err(); err != nil {
			return err
		}
		nodes, err := s.masters(ctx)
		if err != nil {
			return err
		}
		for _, node := range nodes {
			var cursor uint64
			for {
				keys, after, err := node.Scan(ctx, cursor, pattern, 1000).Result()
				if err != nil {
					return err
				}
				kept := keys[:0]
				for _, k := range keys {
					if keep(k) {
						kept = append(kept, k)
					}
				}
				n, err := unlinkCounting(ctx, node, kept, len(s.prefix)+len(sb.label))
				if err != nil {
					return err
				}
				removed += n
				if cursor = after; cursor == 0 {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// unlinkCounting removes keys one by one (keys of one node may be in several hash slots) and
// counts the records and sessions among those that existed (base: the length of prefix and
// label, after which a key says what it is).
func unlinkCounting(ctx context.Context, node *redis.Client, keys []string, base int) (uint64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	cmds := make([]*redis.IntCmd, len(keys))
	if _, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Unlink(ctx, k)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	var n uint64
	for i, k := range keys {
		if cmds[i].Val() == 1 && len(k) > base+7 && (k[base:base+3] == ":k:" || k[base+5:base+8] == ":s:") {
			n++
		}
	}
	return n, nil
}
