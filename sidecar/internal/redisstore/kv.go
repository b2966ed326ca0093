package redisstore

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// KVSet stores value under name for ttlMs, replacing any previous record (its 5-day cap counts
// from now). Returns the expiry.
func (s *Store) KVSet(dl session.Deadline, sandbox, name, value []byte, ttlMs uint64) (int64, error) {
	if err := session.CheckKVSet(name, value, ttlMs, s.maxValue); err != nil {
		return 0, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return 0, err
	}
	k := sb.keys.KVKey(name)
	sealed, err := sealKV(sb.keys, &k, name, value)
	if err != nil {
		return 0, err
	}
	now := s.clock.NowMs()
	exp := now + int64(ttlMs)
	err = s.do(func(ctx context.Context) error {
		return scriptKVSet.Run(ctx, s.rdb, []string{s.kvKey(sb, &k)}, sealed, ms(now+session.MaxTTLMs), ms(exp), ms(int64(dl))).Err()
	})
	if err != nil {
		return 0, err
	}
	return exp, nil
}

// KVGet appends the value to dst and returns the extended slice. found is false if the key is
// absent or expired.
func (s *Store) KVGet(sandbox, name, dst []byte) (out []byte, expiresAt int64, found bool, err error) {
	if err = session.CheckKey(name); err != nil {
		return nil, 0, false, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return nil, 0, false, err
	}
	k := sb.keys.KVKey(name)
	var sealed string
	var pttl int64
	err = s.do(func(ctx context.Context) error {
		r, err := scriptKVGet.Run(ctx, s.rdb, []string{s.kvKey(sb, &k)}).Slice()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(r) != 2 {
			return errors.New("kvGet: unexpected reply")
		}
		sealed, _ = r[0].(string)
		pttl, _ = r[1].(int64)
		return nil
	})
	if err != nil || sealed == "" || pttl <= 0 {
		return nil, 0, false, err
	}
	out, ok, err := sb.keys.OpenNamed(dst, []byte(sealed), kindValue, &k, name)
	if !ok {
		return nil, 0, false, err
	}
	return out, s.clock.NowMs() + pttl, true, nil
}

// KVDel deletes the key; existed says whether a live record was there.
func (s *Store) KVDel(dl session.Deadline, sandbox, name []byte) (bool, error) {
	var n int64
	err := s.kvSimple(sandbox, name, func(ctx context.Context, key string) (err error) {
		n, err = scriptKVDel.Run(ctx, s.rdb, []string{key}, ms(int64(dl))).Int64()
		return err
	})
	return n == 1, err
}

// KVHas reports whether a live record exists.
func (s *Store) KVHas(sandbox, name []byte) (bool, error) {
	var n int64
	err := s.kvSimple(sandbox, name, func(ctx context.Context, key string) (err error) {
		n, err = s.rdb.Exists(ctx, key).Result()
		return err
	})
	return n == 1, err
}

// KVTTL returns the remaining lifetime in ms.
func (s *Store) KVTTL(sandbox, name []byte) (int64, bool, error) {
	var ttl int64
	err := s.kvSimple(sandbox, name, func(ctx context.Context, key string) error {
		d, err := s.rdb.PTTL(ctx, key).Result()
		ttl = d.Milliseconds()
		if d < 0 {
			ttl = -1 // -1 ns / -2 ns from go-redis: no key (every record has an expiry)
		}
		return err
	})
	if err != nil || ttl <= 0 {
		return 0, false, err
	}
	return ttl, true, nil
}

// KVTouch sets a new TTL from now, never past the record's creation + 5 days.
func (s *Store) KVTouch(dl session.Deadline, sandbox, name []byte, ttlMs uint64) (int64, bool, error) {
	if err := session.CheckTTL(ttlMs, "ttlMs"); err != nil {
		return 0, false, err
	}
	var exp int64
	err := s.kvSimple(sandbox, name, func(ctx context.Context, key string) error {
		v, err := scriptKVTouch.Run(ctx, s.rdb, []string{key}, ms(s.clock.NowMs()+int64(ttlMs)), ms(int64(dl))).Text()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		exp, err = strconv.ParseInt(v, 10, 64)
		return err
	})
	if err != nil || exp == 0 {
		return 0, false, err
	}
	return exp, true, nil
}

func (s *Store) kvSimple(sandbox, name []byte, fn func(ctx context.Context, key string) error) error {
	if err := session.CheckKey(name); err != nil {
		return err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return err
	}
	k := sb.keys.KVKey(name)
	key := s.kvKey(sb, &k)
	return s.do(func(ctx context.Context) error { return fn(ctx, key) })
}
