package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Test-only ops handled through the debugOp hook.
const (
	opTestSleep = 0x7D // u32 ms
	opTestPanic = 0x7E
)

func init() {
	debugOp = func(p []byte) ([]byte, bool) {
		id, op := protocol.PeekHeader(p)
		switch op {
		case opTestSleep:
			time.Sleep(time.Duration(binary.LittleEndian.Uint32(p[protocol.RequestHeaderSize:])) * time.Millisecond)
			return protocol.SimpleReply(id, protocol.StatusOK), true
		case opTestPanic:
			panic("deliberate test panic")
		}
		return nil, false
	}
}

type harness struct {
	t      *testing.T
	c      *Client
	stdin  *io.PipeWriter
	exit   chan int
	logs   *syncBuffer
	hello  Reply
	server *Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a server over pipes; configure (if not "") is sent as CONFIGURE id 1.
func start(t *testing.T, configJSON string, secrets ...[]byte) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	// stdout is a kernel pipe, as in production: its buffer lets the read loop write an inline
	// reply while the test is still writing its next request (io.Pipe has no buffer).
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	srv := New(Options{In: inR, Out: outW, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
		Level: level, BuildVersion: "test+go"})
	h := &harness{t: t, c: New2(inW, outR), stdin: inW, exit: make(chan int, 1), logs: logs, server: srv}
	go func() { h.exit <- srv.Run(); outW.Close() }()
	if h.hello, err = h.c.Read(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		inW.Close()
		go io.Copy(io.Discard, outR)
		select {
		case <-h.exit:
		case <-time.After(2 * time.Second):
			t.Error("server did not exit after stdin closed")
		}
	})
	if configJSON != "" {
		r, err := h.c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, configJSON, secrets...)...)
		if err != nil || r.Status != protocol.StatusOK {
			code, msg := r.Err()
			t.Fatalf("CONFIGURE failed: %v %d %s", err, code, msg)
		}
	}
	return h
}

// New2 avoids the name clash between wiretest.New and server.New under the dot import.
func New2(w io.Writer, r io.Reader) *Client { return NewClient(w, r) }

func (h *harness) call(id uint32, op protocol.Op, fields ...[]byte) Reply {
	h.t.Helper()
	r, err := h.c.Call(id, op, fields...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) wantError(r Reply, code xerr.Code, msgPart string) {
	h.t.Helper()
	if r.Status != protocol.StatusError {
		h.t.Fatalf("status %d, want ERROR %v", r.Status, code)
	}
	got, msg := r.Err()
	if xerr.Code(got) != code || !strings.Contains(msg, msgPart) {
		h.t.Fatalf("error %v %q, want %v containing %q", xerr.Code(got), msg, code, msgPart)
	}
}

func (h *harness) waitExit(within time.Duration) int {
	h.t.Helper()
	select {
	case code := <-h.exit:
		h.exit <- code // for Cleanup
		return code
	case <-time.After(within):
		h.t.Fatalf("server did not exit within %v", within)
	}
	return -1
}

func TestHello(t *testing.T) {
	h := start(t, "")
	d := h.hello.D()
	if h.hello.ID != 0 || h.hello.Status != protocol.FrameKindHello {
		t.Fatalf("first frame %+v is not HELLO", h.hello)
	}
	if v := d.U16("v"); v != protocol.Version {
		t.Fatalf("protocol version %d", v)
	}
	if b := d.Str("build"); string(b) != "test+go" {
		t.Fatalf("build version %q", b)
	}
	if _, _, ok := d.Err(); !ok {
		t.Fatal("HELLO has trailing bytes")
	}
}

func TestBeforeConfigure(t *testing.T) {
	h := start(t, "")
	for i, op := range []protocol.Op{protocol.OpPing, protocol.OpStats, protocol.OpKVGet, protocol.Op(0x99), protocol.OpShutdown} {
		h.wantError(h.call(uint32(10+i), op), xerr.NotConfigured, "CONFIGURE")
	}
}

func TestConfigure(t *testing.T) {
	h := start(t, "")
	key := bytes.Repeat([]byte{9}, 32)
	bad := []struct {
		name   string
		fields [][]byte
		code   xerr.Code
		msg    string
	}{
		{"version mismatch", Configure(2, 1, "{}"), xerr.VersionMismatch, "protocol version 1"},
		{"not JSON", Configure(2, protocol.Version, "{nope"), xerr.BadRequest, "not valid JSON"},
		{"unknown field", Configure(2, protocol.Version, `{"maxFrameSize":4096,"colour":1}`), xerr.BadRequest, `"colour"`},
		{"wrong type", Configure(2, protocol.Version, `{"maxFrameSize":"big"}`), xerr.BadRequest, "maxFrameSize"},
		{"frame size too small", Configure(2, protocol.Version, `{"maxFrameSize":100}`), xerr.BadRequest, "maxFrameSize must be"},
		{"frame size too large", Configure(2, protocol.Version, `{"maxFrameSize":1073741824}`), xerr.BadRequest, "maxFrameSize must be"},
		{"value size over frame", Configure(2, protocol.Version, `{"maxFrameSize":4096,"maxValueSize":5000}`), xerr.BadRequest, "maxValueSize"},
		{"value size zero", Configure(2, protocol.Version, `{"maxValueSize":0}`), xerr.BadRequest, "maxValueSize"},
		{"bad log level", Configure(2, protocol.Version, `{"logLevel":"loud"}`), xerr.BadRequest, "logLevel"},
		{"trailing JSON", Configure(2, protocol.Version, `{} {}`), xerr.BadRequest, "trailing"},
		{"unknown secret", Configure(2, protocol.Version, `{}`, []byte("apiKey"), key), xerr.BadRequest, "apiKey"},
		{"short master key", Configure(2, protocol.Version, `{}`, []byte("masterKey"), key[:31]), xerr.BadRequest, "exactly 32"},
		{"duplicate secret", Configure(2, protocol.Version, `{}`, []byte("masterKey"), key, []byte("masterKey"), key), xerr.BadRequest, "twice"},
		{"malformed body", [][]byte{U16(protocol.Version), Str("")}, xerr.BadRequest, "configJson"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			h.wantError(h.call(2, protocol.OpConfigure, c.fields...), c.code, c.msg)
			// Still not configured.
			h.wantError(h.call(3, protocol.OpPing), xerr.NotConfigured, "")
		})
	}
	r := h.call(4, protocol.OpConfigure, Configure(4, protocol.Version, `{"maxFrameSize":65536,"maxValueSize":1000,"logLevel":"warn"}`, []byte("masterKey"), key)...)
	if r.Status != protocol.StatusOK {
		t.Fatalf("valid CONFIGURE failed: %v", r)
	}
	var eff map[string]any
	if err := json.Unmarshal(r.D().Str("cfg"), &eff); err != nil {
		t.Fatal(err)
	}
	if eff["maxFrameSize"] != 65536.0 || eff["maxValueSize"] != 1000.0 || eff["logLevel"] != "warn" || eff["masterKey"] != "supplied" || eff["protocolVersion"] != float64(protocol.Version) {
		t.Fatalf("effective config %v", eff)
	}
	h.wantError(h.call(5, protocol.OpConfigure, Configure(5, protocol.Version, `{}`)...), xerr.BadRequest, "already configured")
	if strings.Contains(h.logs.String(), string(key)) || strings.Contains(h.logs.String(), "CQkJCQkJ") {
		t.Fatal("the master key appears in the logs")
	}
	// The new limits apply.
	h.wantError(h.call(6, protocol.OpKVSet, Str("s"), BytesS("k"), Bytes(make([]byte, 1001)), U64(10)), xerr.ValueTooLarge, "1000")
	big := Frame(Payload(7, protocol.OpKVSet, Str("s"), BytesS("k"), Bytes(make([]byte, 70000)), U64(10)))
	h.c.Raw(big)
	r, _ = h.c.Read()
	if r.ID != 7 {
		t.Fatalf("oversize reply went to id %d", r.ID)
	}
	h.wantError(r, xerr.FrameTooLarge, "65536")
	if r := h.call(8, protocol.OpPing); r.Status != protocol.StatusOK {
		t.Fatal("stream out of sync after an oversize frame")
	}
}

func TestEmptyConfigJSONAndRandomKey(t *testing.T) {
	h := start(t, "")
	r := h.call(1, protocol.OpConfigure, Configure(1, protocol.Version, "")...)
	var eff map[string]any
	json.Unmarshal(r.D().Str("cfg"), &eff)
	if r.Status != protocol.StatusOK || eff["masterKey"] != "random" || eff["maxFrameSize"] != float64(protocol.DefaultMaxFrameSize) {
		t.Fatalf("%v %v", r, eff)
	}
}

// TestOperationsOverTheWire runs every operation through the codec and checks each reply body.
func TestOperationsOverTheWire(t *testing.T) {
	h := start(t, `{"maxValueSize":2048}`)
	sb := Str("app")
	var token, sessionID string
	var rotated, csrf, regen string
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
			}},
		{"S_UPDATE", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str(rotated), BytesS(`{"n":2}`)} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) { d.I64("exp") }},
		{"S_UPDATE bad token", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str("x"), BytesS(`{}`)} }, protocol.StatusNotFound, nil},
		// The old token is answered until its successor is presented: present it, then the
		// old token is outside a grace of 0.
		{"S_RESOLVE current", protocol.OpSResolve, func() [][]byte { return [][]byte{sb, Str(rotated), U8(0), U64(2000), U64(0)} }, protocol.StatusOK, nil},
		{"S_UPDATE grace 0", protocol.OpSUpdate, func() [][]byte { return [][]byte{sb, Str(token), BytesS(`{}`), U64(0)} }, protocol.StatusNotFound, nil},
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
		{"S_REGENERATE", protocol.OpSRegen, func() [][]byte { return [][]byte{sb, Str(rotated), U64(2000), U8(1), BytesS("")} }, protocol.StatusOK,
			func(t *testing.T, d *protocol.Decoder) {
				regen = string(d.Str("token"))
				newID := string(d.Str("sid"))
				d.I64("exp")
				newCSRF := string(d.Str("csrf"))
				wantU8(t, d, 0)
				if old := d.Str("old"); string(old) != sessionID {
					t.Fatal("the old session id is not reported")
				}
				if regen == rotated || newID == sessionID || newCSRF == csrf || len(regen) != crypto.TokenLength {
					t.Fatal("regenerate kept the token, id or CSRF token")
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

func wantU8(t *testing.T, d *protocol.Decoder, want uint8) {
	t.Helper()
	if got := d.U8("u8"); got != want {
		t.Fatalf("got %d, want %d", got, want)
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
		{"unknown create flags", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""), U8(2), U32(0), U8(0), U8(0), Str(""), Str("")}, xerr.BadRequest, "createFlags"},
		{"bad bind mode", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""), U8(0), U32(0), U8(0), U8(3), Str(""), Str("")}, xerr.BadRequest, "bindMode"},
		{"bad onLimit", protocol.OpSCreate, [][]byte{sb, BytesS("d"), U64(1), U64(0), Str("u"), BytesS(""), U8(0), U32(1), U8(2), U8(0), Str(""), Str("")}, xerr.BadRequest, "onLimit"},
		{"bad onMismatch", protocol.OpSResolve, [][]byte{sb, Str("t"), U8(2), U64(0), U64(0), U8(3), Str(""), Str("")}, xerr.BadRequest, "onMismatch"},
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

func TestShutdownFinishesInFlight(t *testing.T) {
	h := start(t, "{}")
	h.c.Send(10, opTestSleep, U32(200))
	h.c.Send(11, protocol.OpShutdown)
	h.c.Send(12, protocol.OpPing)
	got := map[uint32]Reply{}
	var order []uint32
	for len(got) < 3 {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r
		order = append(order, r.ID)
	}
	if got[10].Status != protocol.StatusOK || got[11].Status != protocol.StatusOK {
		t.Fatal("in-flight request or SHUTDOWN failed")
	}
	h.wantError(got[12], xerr.ShuttingDown, "shutting down")
	if order[2] != 11 {
		t.Fatalf("SHUTDOWN answered before the request in flight: %v", order)
	}
	if code := h.waitExit(time.Second); code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
}

func TestExitPaths(t *testing.T) {
	cases := []struct {
		name string
		send []byte
		code int
		log  string
	}{
		{"stdin EOF", nil, ExitOK, "stdin closed"},
		{"short frame", Frame([]byte{1, 0, 0, 0}), ExitProtocol, "shorter than 5"},
		{"truncated frame", Frame(Payload(5, protocol.OpPing))[:7], ExitProtocol, "truncated"},
		{"request id 0", Frame(Payload(0, protocol.OpPing)), ExitProtocol, "id 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, "{}")
			h.c.Raw(c.send)
			h.stdin.Close()
			if code := h.waitExit(time.Second); code != c.code {
				t.Fatalf("exit code %d, want %d", code, c.code)
			}
			if !strings.Contains(h.logs.String(), c.log) {
				t.Fatalf("log lacks %q: %s", c.log, h.logs.String())
			}
		})
	}
	t.Run("EOF with a request in flight exits promptly", func(t *testing.T) {
		h := start(t, "{}")
		h.c.Send(9, opTestSleep, U32(5000))
		time.Sleep(20 * time.Millisecond)
		began := time.Now()
		h.stdin.Close()
		h.waitExit(time.Second)
		if d := time.Since(began); d > time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("Stop", func(t *testing.T) {
		h := start(t, "{}")
		h.server.Stop(ExitOK)
		if code := h.waitExit(time.Second); code != ExitOK {
			t.Fatalf("exit code %d", code)
		}
	})
}

func TestLogsAreJSONLines(t *testing.T) {
	h := start(t, `{"logLevel":"debug"}`)
	h.call(2, protocol.OpPing)
	h.stdin.Close()
	h.waitExit(time.Second)
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
	}
}

// TestPipelinedConcurrentClients: many requests written back to back, each answered once.
func TestPipelined(t *testing.T) {
	h := start(t, "{}")
	const n = 3000
	go func() {
		for i := 1; i <= n; i++ {
			id := uint32(100 + i)
			switch i % 3 {
			case 0:
				h.c.Send(id, protocol.OpKVSet, Str("p"), BytesS(string(rune('a'+i%26))+"-key"), BytesS("value"), U64(60_000))
			case 1:
				h.c.Send(id, protocol.OpPing)
			case 2:
				h.c.Send(id, protocol.OpSCreate, Str("p"), BytesS("d"), U64(60_000), U64(0), Str(""), BytesS(""))
			}
		}
	}()
	seen := map[uint32]bool{}
	for len(seen) < n {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != protocol.StatusOK || r.ID <= 100 || r.ID > 100+n || seen[r.ID] {
			t.Fatalf("bad or duplicate reply %+v", r)
		}
		seen[r.ID] = true
	}
}

// TestExpiredFramesReportEveryExpiredSession: with expiryEvents, every session removed because
// it expired (on a read, or by the expirer) is reported once in EXPIRED frames (id 0), each
// within maxFrameSize; SHUTDOWN sends the backlog before its reply.
func TestExpiredFramesReportEveryExpiredSession(t *testing.T) {
	h := start(t, `{"maxFrameSize":4096,"expiryEvents":true}`)
	sb := Str("app")
	got := map[string]int{}
	// call reads frames until the reply to id, collecting the EXPIRED frames met on the way.
	call := func(id uint32, op protocol.Op, fields ...[]byte) Reply {
		t.Helper()
		if err := h.c.Send(id, op, fields...); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := h.c.Read()
			if err != nil {
				t.Fatal(err)
			}
			if f.ID == id {
				return f
			}
			if f.ID != 0 || f.Status != protocol.FrameKindExpired {
				t.Fatalf("unexpected frame id %d status %d", f.ID, f.Status)
			}
			if len(f.Body)+5 > 4096 {
				t.Fatalf("EXPIRED frame of %d bytes over maxFrameSize", len(f.Body)+5)
			}
			d := f.D()
			if s := d.Str("sandbox"); string(s) != "app" {
				t.Fatalf("sandbox %q", s)
			}
			n := d.U32("n")
			for i := uint32(0); i < n; i++ {
				got[string(d.Str("id"))]++
			}
			if field, why, ok := d.Err(); !ok {
				t.Fatalf("EXPIRED body: %s %s", field, why)
			}
		}
	}
	want := map[string]bool{}
	var first string
	for i := 0; i < 400; i++ {
		d := call(uint32(10+i), protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS("")).D()
		tok := string(d.Str("token"))
		want[string(d.Str("sid"))] = true
		if i == 0 {
			first = tok
		}
	}
	call(999, protocol.OpSCreate, sb, BytesS("d"), U64(600_000), U64(0), Str(""), BytesS("")) // stays live: never reported
	time.Sleep(5 * time.Millisecond)
	if r := call(1000, protocol.OpSResolve, sb, Str(first), U8(0), U64(0), U64(0)); r.Status != protocol.StatusNotFound {
		t.Fatal("an expired session resolved")
	}
	for i := uint32(0); len(got) < len(want) && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		call(2000+i, protocol.OpPing)
	}
	if len(got) != len(want) {
		t.Fatalf("%d of %d expirations reported", len(got), len(want))
	}
	for id, n := range got {
		if !want[id] || n != 1 {
			t.Fatalf("id %s reported %d times (expected: %v)", id, n, want[id])
		}
	}
	// SHUTDOWN: a session expiring just before is reported before the SHUTDOWN reply.
	tok := string(call(3000, protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS("")).D().Str("token"))
	time.Sleep(5 * time.Millisecond)
	if err := h.c.Send(3001, protocol.OpSResolve, sb, Str(tok), U8(0), U64(0), U64(0)); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Send(3002, protocol.OpShutdown); err != nil {
		t.Fatal(err)
	}
	var order []string
	for len(order) == 0 || order[len(order)-1] != "shutdown" {
		f, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.ID == 0:
			order = append(order, "expired")
		case f.ID == 3001:
			order = append(order, "resolve")
		case f.ID == 3002:
			order = append(order, "shutdown")
		}
	}
	// (The expirer may have reported it before the resolve met it: either way, once, and before
	// the SHUTDOWN reply.)
	if o := strings.Join(order, ","); o != "resolve,expired,shutdown" && o != "expired,resolve,shutdown" {
		t.Fatalf("frame order %v", order)
	}
}

func TestNoExpiredFramesByDefault(t *testing.T) {
	h := start(t, `{}`)
	sb := Str("app")
	r := h.call(2, protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""))
	tok := string(r.D().Str("token"))
	time.Sleep(5 * time.Millisecond)
	h.call(3, protocol.OpSResolve, sb, Str(tok), U8(0), U64(0), U64(0))
	time.Sleep(400 * time.Millisecond) // longer than the reporter's flush interval
	if r := h.call(4, protocol.OpPing); r.ID != 4 {
		t.Fatal("an unsolicited frame arrived")
	}
}
