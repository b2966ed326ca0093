package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc/dbsctest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// TestOperationsOverTheWire runs every operation through the codec and checks each reply body.
func TestOperationsOverTheWire(t *testing.T) {
	h := start(t, `{"maxValueSize":2048}`)
	sb := Str("app")
	var token, sessionID string
	var rotated, csrf, regen, challenge string
	device := dbsctest.New()
	steps := []struct {
		name   string
		op     protocol.Op
		fields func() [][]byte
		status protocol.Status
		check  func(t *testing.T, d *protocol.Decoder)
	}{
		{"PING", protocol.OpPing, nil, protocol.StatusOK, nil},
		{"KV_SET", protocol.OpKVSet, func() [][]byte { return [][]byte{sb, BytesS("k1"), BytesS("v1"), U64(60_000)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if exp := d.I64("exp"); exp < time.Now().UnixMilli()+59_000 {
					t.Fatalf("expiresAt %d", exp)
				}
			}},
		{"KV_GET", protocol.OpKVGet, func() [][]byte { return [][]byte{sb, BytesS("k1")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if v := d.Bytes("v"); string(v) != "v1" {
					t.Fatalf("value %q", v)
				}
				d.I64("exp")
			}},
		{"KV_GET missing", protocol.OpKVGet, func() [][]byte { return [][]byte{sb, BytesS("nope")} }, protocol.StatusNotFound, nil},
		{"KV_HAS", protocol.OpKVHas, func() [][]byte { return [][]byte{sb, BytesS("k1")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantU8(t, d, 1) }},
		{"KV_HAS missing", protocol.OpKVHas, func() [][]byte { return [][]byte{sb, BytesS("nope")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantU8(t, d, 0) }},
		{"KV_TTL", protocol.OpKVTTL, func() [][]byte { return [][]byte{sb, BytesS("k1")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if rem := d.I64("rem"); rem <= 0 || rem > 60_000 {
					t.Fatalf("remaining %d", rem)
				}
			}},
		{"KV_TTL missing", protocol.OpKVTTL, func() [][]byte { return [][]byte{sb, BytesS("nope")} }, protocol.StatusNotFound, nil},
		{"KV_TOUCH", protocol.OpKVTouch, func() [][]byte { return [][]byte{sb, BytesS("k1"), U64(120_000)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { d.I64("exp") }},
		{"KV_TOUCH missing", protocol.OpKVTouch, func() [][]byte { return [][]byte{sb, BytesS("nope"), U64(1)} }, protocol.StatusNotFound, nil},
		{"KV_SCAN", protocol.OpKVScan, func() [][]byte { return [][]byte{sb, BytesS("k"), Str(""), U32(10)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if c := d.Str("cursor"); len(c) != 0 {
					t.Fatalf("cursor %q", c)
				}
				if n := d.U32("n"); n != 1 {
					t.Fatalf("n %d", n)
				}
				if k := d.Bytes("key"); string(k) != "k1" {
					t.Fatalf("key %q", k)
				}
			}},
		{"KV_DEL", protocol.OpKVDel, func() [][]byte { return [][]byte{sb, BytesS("k1")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantU8(t, d, 1) }},
		{"KV_DEL again", protocol.OpKVDel, func() [][]byte { return [][]byte{sb, BytesS("k1")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantU8(t, d, 0) }},
		{"S_CREATE", protocol.OpSCreate, func() [][]byte {
			return [][]byte{sb, BytesS(`{"n":1}`), U64(60_000), U64(0), Str("alice"), BytesS("ua=test")}
		}, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				token = string(d.Str("token"))
				sessionID = string(d.Str("sid"))
				d.I64("exp")
				csrf = string(d.Str("csrf"))
				if len(token) != crypto.TokenLength || len(sessionID) != crypto.IDLength || len(csrf) != crypto.IDLength {
					t.Fatalf("token %d chars, id %d chars, csrf %d chars", len(token), len(sessionID), len(csrf))
				}
				if n := d.U32("nEvicted"); n != 0 {
					t.Fatalf("evicted %d", n)
				}
			}},
		{"S_RESOLVE rotate", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(token), U8(1), U64(2000), U64(0)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				rotated = string(d.Str("token"))
				wantU8(t, d, 1)
				d.I64("exp")
				if id := d.Str("sid"); string(id) != sessionID {
					t.Fatal("session id changed")
				}
				if data := d.Bytes("data"); string(data) != `{"n":1}` {
					t.Fatalf("data %q", data)
				}
				if rotated == token {
					t.Fatal("token not rotated")
				}
				wantU8(t, d, 0) // session flags
				wantU8(t, d, 0) // mismatch
				if c := d.Str("csrf"); len(c) != 0 {
					t.Fatal("a CSRF token that was not asked for")
				}
				if at, m := d.I64("authAt"), d.U32("authMethods"); at != 0 || m != 0 {
					t.Fatalf("an authentication record (%d, %d) for a session created without one", at, m)
				}
			}},
		{"S_RESOLVE in grace", protocol.OpSResolve, func() [][]byte {
			return [][]byte{sb, Str(token), U8(1 | 2 | 4), U64(2000), U64(0), U8(2), Str("10.0.0.1"), Str("agent")}
		}, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if cur := d.Str("token"); string(cur) != rotated {
					t.Fatal("grace resolve did not return the current token")
				}
				wantU8(t, d, 0)
				d.I64("exp")
				d.Str("sid")
				d.Bytes("data")
				wantU8(t, d, 0) // session flags
				wantU8(t, d, 0) // mismatch: the session is not bound
				if c := d.Str("csrf"); string(c) != csrf {
					t.Fatal("resolve's CSRF token differs from create's")
				}
				d.I64("authAt")
				d.U32("authMethods")
			}},
		{"S_UPDATE", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str(rotated), BytesS(`{"n":2}`)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { d.I64("exp") }},
		{"S_UPDATE bad token", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str("x"), BytesS(`{}`)} }, protocol.StatusNotFound, nil},
		// The old token is answered until its successor is presented: present it, then the
		// old token is outside a grace of 0.
		{"S_RESOLVE current", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(rotated), U8(0), U64(2000), U64(0)} }, protocol.StatusOK, nil},
		{"S_PEEK", protocol.OpSPeek, func() [][]byte { return [][]byte{sb, Str(rotated), U64(2000), U8(0)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				wantPeek(t, d, sessionID, `{"n":2}`)
				wantU8(t, d, 0) // mismatch
			}},
		{"S_PEEK binding", protocol.OpSPeek, func() [][]byte {
			return [][]byte{sb, Str(rotated), U64(2000), U8(2), U8(1), Str("10.0.0.1"), Str("ua")}
		},
			protocol.StatusOK, func(t *testing.T, d *protocol.Decoder) {
				wantPeek(t, d, sessionID, `{"n":2}`)
				wantU8(t, d, 0) // mismatch: the session is not bound
			}},
		{"S_PEEK malformed", protocol.OpSPeek, func() [][]byte { return [][]byte{sb, Str("x"), U64(2000), U8(0)} }, protocol.StatusNotFound, nil},
		{"S_PEEK grace too long", protocol.OpSPeek, func() [][]byte { return [][]byte{sb, Str(rotated), U64(60_001), U8(0)} }, protocol.StatusError, nil},
		{"S_PEEK_ID", protocol.OpSPeekID, func() [][]byte { return [][]byte{sb, Str(sessionID)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantPeek(t, d, sessionID, `{"n":2}`) }},
		{"S_PEEK_ID unknown", protocol.OpSPeekID, func() [][]byte { return [][]byte{sb, Str("nope")} }, protocol.StatusNotFound, nil},
		{"S_UPDATE grace 0", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str(token), BytesS(`{}`), U64(0)} }, protocol.StatusNotFound, nil},
		{"DEVICE_CHALLENGE", protocol.OpDeviceChallenge, func() [][]byte { return [][]byte{sb, Str(rotated), U64(2000)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if challenge = string(d.Str("challenge")); len(challenge) != 22 {
					t.Fatalf("challenge %q", challenge)
				}
				if id := d.Str("sid"); string(id) != sessionID {
					t.Fatal("wrong session id")
				}
				wantU8(t, d, 0) // not bound yet
			}},
		{"DEVICE_REGISTER", protocol.OpDeviceRegister, func() [][]byte {
			return [][]byte{sb, Str(rotated), U64(2000), Str(string(device.Registration(challenge))), U8(1), U64(600_000)}
		}, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				d.Str("sid")
				if dl := d.I64("deadline"); dl < time.Now().UnixMilli()+590_000 {
					t.Fatalf("deadline %d", dl)
				}
			}},
		{"DEVICE_REFRESH replayed challenge", protocol.OpDeviceRefresh, func() [][]byte {
			return [][]byte{sb, Str(rotated), U64(2000), Str(string(device.Refresh(challenge))), U64(600_000)}
		}, protocol.StatusError,
			func(t *testing.T, d *protocol.Decoder) {
				if c := d.U16("code"); xerr.Code(c) != xerr.DeviceProofRefused {
					t.Fatalf("code %d", c)
				}
				d.Str("message")
			}},
		{"DEVICE_CHALLENGE bad token", protocol.OpDeviceChallenge, func() [][]byte { return [][]byte{sb, Str("x"), U64(2000)} }, protocol.StatusNotFound, nil},
		{"S_LIST", protocol.OpSList, func() [][]byte { return [][]byte{sb, Str("alice")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U32("n"); n != 1 {
					t.Fatalf("n %d", n)
				}
				if id := d.Str("sid"); string(id) != sessionID {
					t.Fatal("wrong session id")
				}
				created, seen, exp := d.I64("c"), d.I64("l"), d.I64("e")
				if !(created <= seen && seen < exp) {
					t.Fatalf("times %d %d %d", created, seen, exp)
				}
				if m := d.Bytes("meta"); string(m) != "ua=test" {
					t.Fatalf("meta %q", m)
				}
				d.I64("authAt")
				d.U32("authMethods")
				wantU8(t, d, 1) // device-bound
			}},
		{"S_RESOLVE malformed", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(""), U8(0), U64(0), U64(0)} }, protocol.StatusNotFound, nil},
		{"S_REVOKE_ALL", protocol.OpSRevokeAll, func() [][]byte { return [][]byte{sb, Str("alice"), Str(rotated)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U32("n"); n != 0 {
					t.Fatalf("revoked %d, the only session was excepted", n)
				}
			}},
		{"S_REVOKE_ALL except id", protocol.OpSRevokeAll, func() [][]byte { return [][]byte{sb, Str("alice"), Str(sessionID)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U32("n"); n != 0 {
					t.Fatalf("revoked %d, the only session was excepted by id", n)
				}
			}},
		{"S_REGENERATE", protocol.OpSRegen, func() [][]byte { return [][]byte{sb, Str(rotated), U64(2000), U8(1), BytesS(""), U64(5000), U32(3)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				regen = string(d.Str("token"))
				newID := string(d.Str("sid"))
				d.I64("exp")
				newCSRF := string(d.Str("csrf"))
				wantU8(t, d, 4) // DEVICE_BOUND: a regeneration keeps the device binding
				if old := d.Str("old"); string(old) != sessionID {
					t.Fatal("the old session id is not reported")
				}
				if regen == rotated || newID == sessionID || newCSRF == csrf || len(regen) != crypto.TokenLength {
					t.Fatal("regenerate kept the token, id or CSRF token")
				}
				if at, m := d.I64("authAt"), d.U32("authMethods"); at != 5000 || m != 3 {
					t.Fatalf("reauthentication recorded (%d, %d)", at, m)
				}
				sessionID = newID
			}},
		{"S_RESOLVE old token after regenerate", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(rotated), U8(0), U64(2000), U64(0)} }, protocol.StatusNotFound, nil},
		{"S_RESOLVE regenerated", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(regen), U8(0), U64(2000), U64(0)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				d.Str("token")
				wantU8(t, d, 0)
				d.I64("exp")
				d.Str("sid")
				if data := d.Bytes("data"); string(data) != `{"n":2}` {
					t.Fatalf("data %q not kept", data)
				}
				d.U8("flags")
				d.U8("mismatch")
				d.Str("csrf")
				if at, m := d.I64("authAt"), d.U32("authMethods"); at != 5000 || m != 3 {
					t.Fatalf("authentication record (%d, %d) after the reauthentication", at, m)
				}
			}},
		{"S_REVOKE_OTHERS", protocol.OpSRevokeOthers, func() [][]byte { return [][]byte{sb, Str(regen)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U32("n"); n != 0 {
					t.Fatalf("revoked %d, the user has no other session", n)
				}
			}},
		{"S_REVOKE_ID", protocol.OpSRevokeID, func() [][]byte { return [][]byte{sb, Str(sessionID)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { wantU8(t, d, 1) }},
		{"S_REVOKE after revoke", protocol.OpSRevoke, func() [][]byte { return [][]byte{sb, Str(regen)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				wantU8(t, d, 0)
				if id := d.Str("sid"); len(id) != 0 {
					t.Fatal("a session id for nothing revoked")
				}
			}},
		{"S_REVOKE_SANDBOX", protocol.OpSRevokeSandbox, func() [][]byte { return [][]byte{sb} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U64("n"); n != 0 {
					t.Fatalf("revoked %d of no session", n)
				}
			}},
		{"CLEAR", protocol.OpClear, func() [][]byte { return [][]byte{sb} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				if n := d.U64("n"); n != 0 {
					t.Fatalf("cleared %d", n)
				}
			}},
		{"STATS", protocol.OpStats, nil, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				var st map[string]any
				if err := json.Unmarshal(d.Bytes("json"), &st); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"sandboxes", "ops", "rotations", "reuseDetected", "expired", "revoked", "evicted", "bindingMismatches", "uptimeMs"} {
					if _, ok := st[k]; !ok {
						t.Fatalf("STATS lacks %q: %v", k, st)
					}
				}
				ops := st["ops"].(map[string]any)
				if ops["KV_GET"] != 2.0 || ops["S_RESOLVE"] != 6.0 || ops["S_REGENERATE"] != 1.0 || st["rotations"] != 1.0 || st["revoked"] != 1.0 {
					t.Fatalf("counters %v", st)
				}
				if _, ok := st["sandboxes"].(map[string]any)["app"].(map[string]any)["bytes"]; !ok {
					t.Fatalf("sandbox stats %v", st["sandboxes"])
				}
			}},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var fields [][]byte
			if s.fields != nil {
				fields = s.fields()
			}
			r := h.call(uint32(100+i), s.op, fields...)
			if r.Status != s.status {
				code, msg := r.Err()
				t.Fatalf("status %d (%d %s), want %d", r.Status, code, msg, s.status)
			}
			if s.status == protocol.StatusNotFound && len(r.Body) != 0 {
				t.Fatal("NOT_FOUND with a body")
			}
			if s.check != nil {
				d := r.D()
				s.check(t, d)
				if field, why, ok := d.Err(); !ok {
					t.Fatalf("reply body: %s %s", field, why)
				}
			}
		})
	}
}

func TestReuseOverTheWire(t *testing.T) {
	h := start(t, "{}")
	sb := Str("app")
	r := h.call(2, protocol.OpSCreate, sb, BytesS("d"), U64(60_000), U64(0), Str(""), BytesS(""))
	d := r.D()
	tok := string(d.Str("t"))
	sid := string(d.Str("id"))
	next := string(h.call(3, protocol.OpSResolve, sb, Str(tok), U8(1), U64(0), U64(0)).D().Str("t")) // rotate
	h.call(5, protocol.OpSResolve, sb, Str(next), U8(0), U64(0), U64(0))                             // its successor is presented
	r = h.call(4, protocol.OpSResolve, sb, Str(tok), U8(1), U64(0), U64(0))                          // grace 0
	if r.Status != protocol.StatusReused {
		t.Fatalf("status %d, want REUSED", r.Status)
	}
	if got := r.D().Str("sid"); string(got) != sid {
		t.Fatal("REUSED does not carry the session id")
	}
	if !strings.Contains(h.logs.String(), sid) || strings.Contains(h.logs.String(), tok) {
		t.Fatal("reuse log must name the session id and never the token")
	}
}

// TestErrorCodesOverTheWire provokes each error code the wire can carry.
func TestErrorCodesOverTheWire(t *testing.T) {
	h := start(t, `{"maxFrameSize":4096,"maxValueSize":3000}`)
	sb := Str("app")
	cases := []struct {
		name   string
		op     protocol.Op
		fields [][]byte
		code   xerr.Code
		msg    string
	}{
		{"unknown op", protocol.Op(0x99), nil, xerr.UnknownOp, "0x99"},
		{"malformed body", protocol.OpKVGet, [][]byte{sb}, xerr.BadRequest, "KV_GET: key"},
		{"trailing bytes", protocol.OpPing, [][]byte{U8(0)}, xerr.BadRequest, "trailing"},
		{"invalid sandbox", protocol.OpKVGet, [][]byte{Str("a b"), BytesS("k")}, xerr.InvalidSandbox, "A-Za-z0-9"},
		{"empty key", protocol.OpKVGet, [][]byte{sb, BytesS("")}, xerr.BadRequest, "empty"},
		{"key too large", protocol.OpKVGet, [][]byte{sb, Bytes(make([]byte, 1025))}, xerr.KeyTooLarge, "1024"},
		{"value too large", protocol.OpKVSet, [][]byte{sb, BytesS("k"), Bytes(make([]byte, 3001)), U64(1)}, xerr.ValueTooLarge, "3000"},
		{"ttl zero", protocol.OpKVSet, [][]byte{sb, BytesS("k"), BytesS("v"), U64(0)}, xerr.InvalidTTL, "432000000"},
		{"grace too large", protocol.OpSResolve, [][]byte{sb, Str("t"), U8(0), U64(60_001), U64(0)}, xerr.BadRequest, "graceMs"},
		{"unknown flags", protocol.OpSResolve, [][]byte{sb, Str("t"), U8(8), U64(0), U64(0)}, xerr.BadRequest, "flags"},
		{"unknown create flags", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""), U8(2), U32(0), U8(0), U8(0), Str(""), Str(""), U64(0), U32(0)}, xerr.BadRequest, "createFlags"},
		{"bad bind mode", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""), U8(0), U32(0), U8(0), U8(3), Str(""), Str(""), U64(0), U32(0)}, xerr.BadRequest, "bindMode"},
		{"bad onLimit", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str("u"), BytesS(""), U8(0), U32(1), U8(2), U8(0), Str(""), Str(""), U64(0), U32(0)}, xerr.BadRequest, "onLimit"},
		{"bad onMismatch", protocol.OpSResolve, [][]byte{sb, Str("t"), U8(2), U64(0), U64(0), U8(3), Str(""), Str("")}, xerr.BadRequest, "onMismatch"},
		{"unknown peek flags", protocol.OpSPeek, [][]byte{sb, Str("t"), U64(0), U8(1)}, xerr.BadRequest, "flags"},
		{"bad peek onMismatch", protocol.OpSPeek, [][]byte{sb, Str("t"), U64(0), U8(2), U8(3), Str(""), Str("")}, xerr.BadRequest, "onMismatch"},
		{"unknown regenerate flags", protocol.OpSRegen, [][]byte{sb, Str("t"), U64(0), U8(2), BytesS("")}, xerr.BadRequest, "flags"},
		{"regenerate keepData with data", protocol.OpSRegen, [][]byte{sb, Str("t"), U64(0), U8(1), BytesS("x")}, xerr.BadRequest, "keepData"},
		{"panic", protocol.Op(opTestPanic), nil, xerr.Internal, "internal error"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.wantError(h.call(uint32(10+i), c.op, c.fields...), c.code, c.msg)
		})
	}
	if !strings.Contains(h.logs.String(), "deliberate test panic") {
		t.Fatal("the panic was not logged")
	}
	// A reply that would exceed maxFrameSize is refused, not sent.
	for i := 0; i < 3; i++ {
		h.call(uint32(40+i), protocol.OpSCreate, sb, BytesS("d"), U64(60_000), U64(0), Str("u"), Bytes(make([]byte, 2000)))
	}
	h.wantError(h.call(50, protocol.OpSList, sb, Str("u")), xerr.ValueTooLarge, "maxFrameSize")
	if r := h.call(51, protocol.OpPing); r.Status != protocol.StatusOK {
		t.Fatal("not alive after errors")
	}
}

// wantPeek reads an S_PEEK / S_PEEK_ID reply body: the session id, a live expiry, the data, no flags.
func wantPeek(t *testing.T, d *protocol.Decoder, sessionID, data string) {
	t.Helper()
	if id := d.Str("sid"); string(id) != sessionID {
		t.Fatalf("session id %q", id)
	}
	if exp := d.I64("exp"); exp <= time.Now().UnixMilli() {
		t.Fatalf("expiresAt %d", exp)
	}
	if got := d.Bytes("data"); string(got) != data {
		t.Fatalf("data %q", got)
	}
	wantU8(t, d, 0)
	if dl := d.I64("deviceDeadline"); dl != 0 {
		t.Fatalf("deviceDeadline %d for a session that is not bound", dl)
	}
}
