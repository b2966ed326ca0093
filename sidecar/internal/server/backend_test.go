package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redistest"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// The Redis store through the protocol: CONFIGURE's "store" field and its secrets, two sidecars
// sharing one server, and an outage.

func redisServer(t *testing.T) *redistest.Server {
	t.Helper()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func redisConfigJSON(url, prefix string) string {
	return fmt.Sprintf(`{"store":{"type":"redis","url":%q,"keyPrefix":%q,"timeoutMs":300}}`, url, prefix)
}

var storeSecretValue = bytes.Repeat([]byte{7}, 32)

func TestConfigureRedisErrors(t *testing.T) {
	h := start(t, "")
	secret := []byte("storeSecret")
	cases := []struct {
		name   string
		fields [][]byte
		code   xerr.Code
		msg    string
	}{
		{"no secret", Configure(2, protocol.Version, redisConfigJSON("redis://127.0.0.1:1", "")), xerr.BadRequest, "storeSecret"},
		{"short secret", Configure(2, protocol.Version, redisConfigJSON("redis://127.0.0.1:1", ""), secret, storeSecretValue[:31]), xerr.BadRequest, "exactly 32"},
		{"secret without store", Configure(2, protocol.Version, `{}`, secret, storeSecretValue), xerr.BadRequest, "store.type"},
		{"identity without store", Configure(2, protocol.Version, `{}`, []byte("storeIdentity"), []byte("id")), xerr.BadRequest, "store.type"},
		{"empty identity", Configure(2, protocol.Version, redisConfigJSON("redis://127.0.0.1:1", ""), secret, storeSecretValue, []byte("storeIdentity"), nil), xerr.BadRequest, "storeIdentity"},
		{"unknown type", Configure(2, protocol.Version, `{"store":{"type":"etcd"}}`), xerr.BadRequest, "store.type"},
		{"memory with url", Configure(2, protocol.Version, `{"store":{"type":"memory","url":"redis://x:1"}}`), xerr.BadRequest, "need store.type"},
		{"neither url nor cluster", Configure(2, protocol.Version, `{"store":{"type":"redis"}}`, secret, storeSecretValue), xerr.BadRequest, "exactly one of url and cluster"},
		{"both url and cluster", Configure(2, protocol.Version, `{"store":{"type":"redis","url":"redis://a:1","cluster":["redis://b:1"]}}`, secret, storeSecretValue), xerr.BadRequest, "exactly one"},
		{"braces in the prefix", Configure(2, protocol.Version, redisConfigJSON("redis://127.0.0.1:1", "{x}"), secret, storeSecretValue), xerr.BadRequest, "keyPrefix"},
		{"timeout", Configure(2, protocol.Version, `{"store":{"type":"redis","url":"redis://a:1","timeoutMs":5}}`, secret, storeSecretValue), xerr.BadRequest, "timeoutMs"},
		{"unknown store field", Configure(2, protocol.Version, `{"store":{"type":"redis","host":"a"}}`), xerr.BadRequest, "host"},
		{"not a redis URL", Configure(2, protocol.Version, redisConfigJSON("http://user:hunter2@a:1", ""), secret, storeSecretValue), xerr.BadRequest, "redis://host:port"},
		{"with persistence", Configure(2, protocol.Version, `{"store":{"type":"redis","url":"redis://a:1"},"persistence":{"path":"/tmp/x"}}`, secret, storeSecretValue, []byte("vaultSecret"), storeSecretValue), xerr.BadRequest, "persistence cannot be combined"},
		{"with masterKey", Configure(2, protocol.Version, redisConfigJSON("redis://a:1", ""), secret, storeSecretValue, []byte("masterKey"), storeSecretValue), xerr.BadRequest, "masterKey cannot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.call(2, protocol.OpConfigure, c.fields...)
			h.wantError(r, c.code, c.msg)
			if _, msg := r.Err(); strings.Contains(msg, "hunter2") {
				t.Fatal("an error echoes a password")
			}
			h.wantError(h.call(3, protocol.OpPing), xerr.NotConfigured, "")
		})
	}
}

// TestTwoSidecarsShareRedis: a session created through one sidecar resolves, rotates and is
// revoked through another; a sidecar with another secret is refused at CONFIGURE.
func TestTwoSidecarsShareRedis(t *testing.T) {
	srv := redisServer(t)
	cfg := redisConfigJSON(srv.URL(), "wire:")
	secrets := [][]byte{[]byte("storeSecret"), storeSecretValue, []byte("storeIdentity"), []byte("deployment-1")}
	a := start(t, cfg, secrets...)
	b := start(t, "")
	r := b.call(1, protocol.OpConfigure, Configure(1, protocol.Version, cfg, secrets...)...)
	if r.Status != protocol.StatusOK {
		t.Fatalf("CONFIGURE b: %v", r)
	}
	var eff map[string]any
	json.Unmarshal(r.D().Str("cfg"), &eff)
	st, _ := eff["store"].(map[string]any)
	if eff["masterKey"] != "shared" || st["type"] != "redis" || st["mode"] != "standalone" || st["reachable"] != true || st["bound"] != true ||
		fmt.Sprint(st["endpoints"]) != fmt.Sprintf("[%s]", srv.Addr()) {
		t.Fatalf("effective config %v", eff)
	}
	sb := Str("app")
	r = a.call(2, protocol.OpSCreate, sb, BytesS("shared data"), U64(60_000), U64(0), Str("alice"), BytesS("m"))
	d := r.D()
	tok := string(d.Str("t"))
	r = b.call(2, protocol.OpSResolve, sb, Str(tok), U8(1), U64(2000), U64(0))
	if r.Status != protocol.StatusOK {
		t.Fatalf("resolve on b: %v", r)
	}
	d = r.D()
	next := string(d.Str("token"))
	if d.U8("rotated") != 1 || next == tok {
		t.Fatal("b did not rotate")
	}
	d.I64("exp")
	d.Str("sid")
	if data := d.Bytes("data"); string(data) != "shared data" {
		t.Fatalf("data %q", data)
	}
	// The old token through a: in grace, the successor b issued.
	r = a.call(3, protocol.OpSResolve, sb, Str(tok), U8(1), U64(2000), U64(0))
	if d := r.D(); r.Status != protocol.StatusOK || string(d.Str("token")) != next || d.U8("rotated") != 0 {
		t.Fatal("a did not hand out b's successor")
	}
	if r := a.call(4, protocol.OpSList, sb, Str("alice")); r.D().U32("n") != 1 {
		t.Fatal("list on a")
	}
	if r := b.call(5, protocol.OpStats); r.Status != protocol.StatusOK {
		t.Fatal("stats")
	}
	if r := a.call(6, protocol.OpSRevokeAll, sb, Str("alice"), Str("")); r.D().U32("n") != 1 {
		t.Fatal("revoke all on a")
	}
	if r := b.call(7, protocol.OpSResolve, sb, Str(next), U8(0), U64(2000), U64(0)); r.Status != protocol.StatusNotFound {
		t.Fatal("revoked on a, still alive on b")
	}
	// KV through both.
	a.call(8, protocol.OpKVSet, sb, BytesS("k"), BytesS("v"), U64(60_000))
	if r := b.call(9, protocol.OpKVGet, sb, BytesS("k")); r.Status != protocol.StatusOK || string(r.D().Bytes("v")) != "v" {
		t.Fatal("kv across sidecars")
	}
	// Another secret: refused.
	c := start(t, "")
	r = c.call(1, protocol.OpConfigure, Configure(1, protocol.Version, cfg, []byte("storeSecret"), bytes.Repeat([]byte{8}, 32), []byte("storeIdentity"), []byte("deployment-1"))...)
	c.wantError(r, xerr.StoreWrongSecret, "another shared secret")
	r = c.call(2, protocol.OpConfigure, Configure(2, protocol.Version, cfg, []byte("storeSecret"), storeSecretValue, []byte("storeIdentity"), []byte("deployment-2"))...)
	c.wantError(r, xerr.StoreWrongIdentity, "hardwareBinding id")
	for _, h := range []*harness{a, b} {
		if strings.Contains(h.logs.String(), tok) || strings.Contains(h.logs.String(), "alice") {
			t.Fatal("a token or user id in the logs")
		}
	}
}

// TestRedisDownAtConfigure: CONFIGURE succeeds without Redis (reachable false), requests get
// UNAVAILABLE (code 30) quickly, and the sidecar serves once Redis is up, by itself.
func TestRedisDownAtConfigure(t *testing.T) {
	srv := redisServer(t)
	srv.Kill()
	h := start(t, "")
	r := h.call(1, protocol.OpConfigure, Configure(1, protocol.Version, redisConfigJSON(srv.URL(), "down:"), []byte("storeSecret"), storeSecretValue)...)
	if r.Status != protocol.StatusOK {
		t.Fatalf("CONFIGURE with Redis down: %v", r)
	}
	if !strings.Contains(h.logs.String(), "not reachable yet") {
		t.Fatal("no warning logged")
	}
	h.wantError(h.call(5, protocol.OpPing), xerr.Unavailable, "Redis") // a health check sees Redis down
	for i := uint32(0); i < 5; i++ {
		start := time.Now()
		r := h.call(10+i, protocol.OpKVSet, Str("s"), BytesS("k"), BytesS("v"), U64(1000))
		h.wantError(r, xerr.Unavailable, "Redis")
		if time.Since(start) > time.Second {
			t.Fatalf("an UNAVAILABLE reply took %v", time.Since(start))
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for id := uint32(100); ; id++ {
		r := h.call(id, protocol.OpKVSet, Str("s"), BytesS("k"), BytesS("v"), U64(1000))
		if r.Status == protocol.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			code, msg := r.Err()
			t.Fatalf("no recovery: %d %s", code, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := h.call(200, protocol.OpPing); r.Status != protocol.StatusOK {
		t.Fatal("PING after recovery")
	}
}
