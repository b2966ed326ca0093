package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func Errors(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		big := make([]byte, session.DefaultMaxValueSize+1)
		longKey := make([]byte, session.MaxKeySize+1)
		bad := []byte("bad name")
		created := MustCreate(t, s, sbA, "d", 1000, 0, "u")
		tok := created.Token[:]
		cases := []struct {
			name string
			call func() error
			want xerr.Code
		}{
			{"KV_SET bad sandbox", func() error { _, err := s.KVSet(noDL, bad, []byte("k"), nil, 1); return err }, xerr.InvalidSandbox},
			{"KV_SET empty key", func() error { _, err := s.KVSet(noDL, sbA, nil, nil, 1); return err }, xerr.BadRequest},
			{"KV_SET key too large", func() error { _, err := s.KVSet(noDL, sbA, longKey, nil, 1); return err }, xerr.KeyTooLarge},
			{"KV_SET value too large", func() error { _, err := s.KVSet(noDL, sbA, []byte("k"), big, 1); return err }, xerr.ValueTooLarge},
			{"KV_SET ttl 0", func() error { _, err := s.KVSet(noDL, sbA, []byte("k"), nil, 0); return err }, xerr.InvalidTTL},
			{"KV_SET ttl over 5 days", func() error { _, err := s.KVSet(noDL, sbA, []byte("k"), nil, session.MaxTTLMs+1); return err }, xerr.InvalidTTL},
			{"KV_GET bad sandbox", func() error { _, _, _, err := s.KVGet(bad, []byte("k"), nil); return err }, xerr.InvalidSandbox},
			{"KV_GET empty key", func() error { _, _, _, err := s.KVGet(sbA, nil, nil); return err }, xerr.BadRequest},
			{"KV_GET key too large", func() error { _, _, _, err := s.KVGet(sbA, longKey, nil); return err }, xerr.KeyTooLarge},
			{"KV_DEL bad sandbox", func() error { _, err := s.KVDel(noDL, bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_DEL key too large", func() error { _, err := s.KVDel(noDL, sbA, longKey); return err }, xerr.KeyTooLarge},
			{"KV_HAS bad sandbox", func() error { _, err := s.KVHas(bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_HAS empty key", func() error { _, err := s.KVHas(sbA, nil); return err }, xerr.BadRequest},
			{"KV_TTL bad sandbox", func() error { _, _, err := s.KVTTL(bad, []byte("k")); return err }, xerr.InvalidSandbox},
			{"KV_TTL key too large", func() error { _, _, err := s.KVTTL(sbA, longKey); return err }, xerr.KeyTooLarge},
			{"KV_TOUCH bad sandbox", func() error { _, _, err := s.KVTouch(noDL, bad, []byte("k"), 1); return err }, xerr.InvalidSandbox},
			{"KV_TOUCH ttl 0", func() error { _, _, err := s.KVTouch(noDL, sbA, []byte("k"), 0); return err }, xerr.InvalidTTL},
			{"KV_TOUCH ttl over 5 days", func() error { _, _, err := s.KVTouch(noDL, sbA, []byte("k"), session.MaxTTLMs+1); return err }, xerr.InvalidTTL},
			{"KV_SCAN bad sandbox", func() error { _, _, err := s.KVScan(bad, nil, nil, 10); return err }, xerr.InvalidSandbox},
			{"KV_SCAN limit 0", func() error { _, _, err := s.KVScan(sbA, nil, nil, 0); return err }, xerr.BadRequest},
			{"KV_SCAN limit 1001", func() error { _, _, err := s.KVScan(sbA, nil, nil, 1001); return err }, xerr.BadRequest},
			{"KV_SCAN bad cursor", func() error { _, _, err := s.KVScan(sbA, nil, []byte("garbage!"), 10); return err }, xerr.BadRequest},
			{"KV_SCAN prefix too large", func() error { _, _, err := s.KVScan(sbA, longKey, nil, 10); return err }, xerr.KeyTooLarge},
			{"CLEAR bad sandbox", func() error { _, err := s.Clear(noDL, bad); return err }, xerr.InvalidSandbox},
			{"S_CREATE bad sandbox", func() error { _, err := SessionCreate(s, bad, nil, 1, 0, nil, nil); return err }, xerr.InvalidSandbox},
			{"S_CREATE data too large", func() error { _, err := SessionCreate(s, sbA, big, 1, 0, nil, nil); return err }, xerr.ValueTooLarge},
			{"S_CREATE meta too large", func() error { _, err := SessionCreate(s, sbA, nil, 1, 0, nil, big); return err }, xerr.ValueTooLarge},
			{"S_CREATE ttl 0", func() error { _, err := SessionCreate(s, sbA, nil, 0, 0, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE ttl over 5 days", func() error { _, err := SessionCreate(s, sbA, nil, session.MaxTTLMs+1, 0, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE idle over 5 days", func() error { _, err := SessionCreate(s, sbA, nil, 1, session.MaxTTLMs+1, nil, nil); return err }, xerr.InvalidTTL},
			{"S_CREATE bind mode 3", func() error {
				_, err := s.SessionCreate(noDL, sbA, nil, session.CreateOptions{TTLMs: 1, Bind: 3})
				return err
			}, xerr.BadRequest},
			{"S_CREATE onLimit 2", func() error {
				_, err := s.SessionCreate(noDL, sbA, nil, session.CreateOptions{TTLMs: 1, OnLimit: 2})
				return err
			}, xerr.BadRequest},
			{"S_RESOLVE bad sandbox", func() error { _, err := SessionResolve(s, bad, tok, false, 0, 0, nil); return err }, xerr.InvalidSandbox},
			{"S_RESOLVE grace over max", func() error { _, err := SessionResolve(s, sbA, tok, false, session.MaxGraceMs+1, 0, nil); return err }, xerr.BadRequest},
			{"S_RESOLVE onMismatch 3", func() error {
				_, err := s.SessionResolve(noDL, sbA, tok, session.ResolveOptions{CheckBinding: true, OnMismatch: 3}, nil)
				return err
			}, xerr.BadRequest},
			{"S_UPDATE bad sandbox", func() error { _, _, err := SessionUpdate(s, bad, tok, nil); return err }, xerr.InvalidSandbox},
			{"S_UPDATE data too large", func() error { _, _, err := SessionUpdate(s, sbA, tok, big); return err }, xerr.ValueTooLarge},
			{"S_UPDATE grace over max", func() error {
				_, _, err := s.SessionUpdate(noDL, sbA, tok, nil, session.MaxGraceMs+1)
				return err
			}, xerr.BadRequest},
			{"S_REVOKE bad sandbox", func() error { _, err := SessionRevoke(s, bad, tok); return err }, xerr.InvalidSandbox},
			{"S_LIST bad sandbox", func() error { _, err := s.SessionList(bad, []byte("u")); return err }, xerr.InvalidSandbox},
			{"S_REVOKE_ALL bad sandbox", func() error { _, err := SessionRevokeAll(s, bad, []byte("u"), nil); return err }, xerr.InvalidSandbox},
			{"S_REVOKE_ID bad sandbox", func() error { _, err := s.SessionRevokeID(noDL, bad, []byte("x")); return err }, xerr.InvalidSandbox},
			{"S_REGENERATE grace over max", func() error {
				_, err := s.SessionRegenerate(noDL, sbA, tok, session.MaxGraceMs+1, true, nil, nil)
				return err
			}, xerr.BadRequest},
			{"S_REGENERATE keepData with data", func() error { _, err := s.SessionRegenerate(noDL, sbA, tok, 0, true, []byte("x"), nil); return err }, xerr.BadRequest},
			{"S_REGENERATE data too large", func() error { _, err := s.SessionRegenerate(noDL, sbA, tok, 0, false, big, nil); return err }, xerr.ValueTooLarge},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got := ErrCode(c.call()); got != c.want {
					t.Fatalf("error code %v, want %v", got, c.want)
				}
			})
		}
	})
}
