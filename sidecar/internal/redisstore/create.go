package redisstore

import (
	"context"
	"crypto/rand"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// newToken draws a token whose session id falls in bucket (the first byte of its keyed hash),
// or in any bucket when bucket < 0. Drawing about 256 sids for a bucket costs some 60 µs,
// once per login; it is what lets a user's sessions share a hash slot.
func newToken(keys *crypto.SandboxKeys, bucket int) (crypto.Token, key, error) {
	t, err := crypto.NewToken()
	if err != nil {
		return t, key{}, xerr.New(xerr.Internal, "random source failed")
	}
	for i := 0; ; i++ {
		k := keys.SIDKey(&t.SID)
		if bucket < 0 || int(k[0]) == bucket {
			return t, k, nil
		}
		if i == 1<<16 {
			t.Wipe()
			return t, key{}, xerr.New(xerr.Internal, "could not draw a session id")
		}
		if _, err := rand.Read(t.SID[:]); err != nil {
			t.Wipe()
			return t, key{}, xerr.New(xerr.Internal, "random source failed")
		}
	}
}

// SessionCreate starts a session with every S_CREATE option. With a user and a limit, the
// count of the user's live sessions, the eviction or refusal and the insertion are one script.
func (s *Store) SessionCreate(dl session.Deadline, sandbox, data []byte, o session.CreateOptions) (session.CreateResult, error) {
	var res session.CreateResult
	if err := o.Check(data, s.maxValue); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	now := s.clock.NowMs()
	st := session.NewState(sb.keys, &o, now)
	bucket := -1
	if st.Flags&session.FlagUser != 0 {
		bucket = int(st.User[0])
	}
	t, k, err := newToken(sb.keys, bucket)
	if err != nil {
		return res, err
	}
	defer t.Wipe()
	st.Start(sb.keys, &t, now)
	fields, err := s.sealNew(sb, &k, &st, data, o.Meta, now)
	if err != nil {
		return res, err
	}
	keys := []string{s.sessKey(sb, &k)}
	if st.Flags&session.FlagUser != 0 {
		keys = append(keys, s.userKey(sb, &st.User))
	}
	policy := "0"
	if o.OnLimit == session.LimitReject {
		policy = "1"
	}
	var reply []any
	err = s.do(func(ctx context.Context) (err error) {
		reply, err = scriptCreate.Run(ctx, s.rdb, keys, fields.h, fields.d, fields.l, fields.m, ms(st.ExpiresAt(now)),
			ms(now), ms(st.AbsExp), o.MaxPerUser, policy, crypto.EncodeID(&k), s.bucketPrefix(sb, k[0], "s"), ms(now), ms(int64(dl))).Slice()
		return err
	})
	if err != nil {
		return res, err
	}
	code, _ := reply[0].(int64)
	switch code {
	case -1:
		return res, xerr.New(xerr.Internal, "session id collision, retry")
	case -2:
		live, _ := reply[1].(int64)
		return res, xerr.New(xerr.LimitReached, "the user already has %d live sessions in this sandbox (maxSessionsPerUser %d)", live, o.MaxPerUser)
	}
	for _, v := range reply[1:] {
		if id, ok := v.(string); ok {
			if d, ok := crypto.DecodeID([]byte(id)); ok {
				res.Evicted = append(res.Evicted, d)
				s.m.Evicted.Add(1)
			}
		}
	}
	s.recent.put(keys[0], fields.h, fields.l) // its first resolve is one call (recent.go)
	res.ExpiresAt = st.ExpiresAt(now)
	t.AppendEncoded(res.Token[:0])
	res.SessionID = k
	res.CSRF = sb.keys.CSRFToken(&t.SID)
	return res, nil
}

// sealedFields are the sealed hash fields of a session about to be written.
type sealedFields struct{ h, d, l, m string }

func (s *Store) sealNew(sb *sandbox, k *key, st *session.State, data, meta []byte, lastSeen int64) (f sealedFields, err error) {
	if f.h, err = sealHeader(sb.keys, k, st); err != nil {
		return f, err
	}
	if f.d, err = sealBytes(sb.keys, kindData, k, data); err != nil {
		return f, err
	}
	if f.l, err = sealTime(sb.keys, k, lastSeen); err != nil {
		return f, err
	}
	if len(meta) > 0 {
		f.m, err = sealBytes(sb.keys, kindMeta, k, meta)
	}
	return f, err
}
