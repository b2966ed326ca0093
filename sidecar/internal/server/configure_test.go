package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

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
