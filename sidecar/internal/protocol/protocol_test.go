package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func frame(payload []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// header is a request header without a deadline.
func header(id uint32, op Op) []byte {
	return AppendI64(append(binary.LittleEndian.AppendUint32(nil, id), byte(op)), 0)
}

func TestReadFrame(t *testing.T) {
	ok := header(7, OpPing)
	big := append(header(9, OpKVSet), make([]byte, 100)...)
	cases := []struct {
		name    string
		stream  []byte
		max     uint32
		want    [][]byte // payloads read in order before the final error
		final   error
		tooBig  uint32 // id of a TooLargeError expected after want
		afterTB [][]byte
	}{
		{name: "clean EOF", stream: nil, max: 1024, final: io.EOF},
		{name: "one frame", stream: frame(ok), max: 1024, want: [][]byte{ok}, final: io.EOF},
		{name: "two frames", stream: append(frame(ok), frame(big)...), max: 1024, want: [][]byte{ok, big}, final: io.EOF},
		{name: "truncated header", stream: []byte{5, 0}, max: 1024, final: ErrTruncated},
		{name: "truncated payload", stream: frame(big)[:50], max: 1024, final: ErrTruncated},
		{name: "short payload", stream: frame([]byte{1, 0, 0, 0}), max: 1024, final: ErrShortFrame},
		{name: "empty payload", stream: frame(nil), max: 1024, final: ErrShortFrame},
		{name: "oversize then in sync", stream: append(frame(big), frame(ok)...), max: 50, tooBig: 9, afterTB: [][]byte{ok}, final: io.EOF},
		{name: "oversize truncated", stream: frame(big)[:60], max: 50, final: ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(c.stream))
			for _, w := range c.want {
				got, err := ReadFrame(r, c.max)
				if err != nil || !bytes.Equal(got, w) {
					t.Fatalf("ReadFrame = %x, %v", got, err)
				}
			}
			if c.tooBig != 0 {
				_, err := ReadFrame(r, c.max)
				var tl *TooLargeError
				if !errors.As(err, &tl) || tl.ID != c.tooBig || tl.Size != uint32(len(big)) {
					t.Fatalf("want TooLargeError for id %d, got %v", c.tooBig, err)
				}
				for _, w := range c.afterTB {
					got, err := ReadFrame(r, c.max)
					if err != nil || !bytes.Equal(got, w) {
						t.Fatalf("after oversize: %x, %v", got, err)
					}
				}
			}
			if _, err := ReadFrame(r, c.max); !errors.Is(err, c.final) {
				t.Fatalf("final error %v, want %v", err, c.final)
			}
		})
	}
}

// TestOversizeIsStreamed: a frame declaring 4 GiB is skipped as it streams, never buffered.
func TestOversizeIsStreamed(t *testing.T) {
	const declared = 1 << 30
	hdr := binary.LittleEndian.AppendUint32(nil, declared)
	hdr = binary.LittleEndian.AppendUint32(hdr, 42)
	body := io.LimitReader(zeroReader{}, declared-4)
	tail := frame(header(43, OpPing))
	r := bufio.NewReader(io.MultiReader(bytes.NewReader(hdr), body, bytes.NewReader(tail)))
	_, err := ReadFrame(r, DefaultMaxFrameSize)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.ID != 42 {
		t.Fatalf("got %v", err)
	}
	got, err := ReadFrame(r, DefaultMaxFrameSize)
	if err != nil || !bytes.Equal(got, header(43, OpPing)) {
		t.Fatal("stream out of sync after a 1 GiB frame")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// req builds a request payload from already-encoded fields.
func req(id uint32, op Op, fields ...[]byte) []byte {
	b := header(id, op)
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func str(s string) []byte  { return AppendStr(nil, s) }
func byts(s string) []byte { return AppendBytes(nil, []byte(s)) }
func u64(v uint64) []byte  { return AppendU64(nil, v) }
func u32(v uint32) []byte  { return AppendU32(nil, v) }
func u16(v uint16) []byte  { return AppendU16(nil, v) }
func u8(v uint8) []byte    { return []byte{v} }

func TestDecodeRequestEveryOp(t *testing.T) {
	cases := []struct {
		payload []byte
		check   func(r *Request) bool
		// base: the body length at which a prefix is a valid request of its own (the op's
		// extension fields left out), 0 if none.
		base int
	}{
		{req(1, OpConfigure, u16(2), str("0.1.0"), byts(`{}`), u16(1), str("masterKey"), byts("k")), func(r *Request) bool {
			return r.ProtocolVersion == 2 && string(r.ClientVersion) == "0.1.0" && string(r.ConfigJSON) == "{}" && len(r.Secrets) == 1 && string(r.Secrets[0].Name) == "masterKey"
		}, 0},
		{req(2, OpPing), func(r *Request) bool { return r.ID == 2 }, 0},
		{req(3, OpShutdown), func(r *Request) bool { return r.Op == OpShutdown }, 0},
		{req(4, OpStats), func(r *Request) bool { return r.Op == OpStats }, 0},
		{req(5, OpKVSet, str("sb"), byts("k"), byts("v"), u64(9)), func(r *Request) bool {
			return string(r.Sandbox) == "sb" && string(r.Key) == "k" && string(r.Value) == "v" && r.TTLMs == 9
		}, 0},
		{req(6, OpKVGet, str("sb"), byts("k")), func(r *Request) bool { return string(r.Key) == "k" }, 0},
		{req(7, OpKVDel, str("sb"), byts("k")), func(r *Request) bool { return string(r.Key) == "k" }, 0},
		{req(8, OpKVHas, str("sb"), byts("k")), func(r *Request) bool { return string(r.Key) == "k" }, 0},
		{req(9, OpKVTTL, str("sb"), byts("k")), func(r *Request) bool { return string(r.Key) == "k" }, 0},
		{req(10, OpKVTouch, str("sb"), byts("k"), u64(5)), func(r *Request) bool { return r.TTLMs == 5 }, 0},
		{req(11, OpKVScan, str("sb"), byts("p"), str("c"), u32(10)), func(r *Request) bool {
			return string(r.Key) == "p" && string(r.Cursor) == "c" && r.Limit == 10
		}, 0},
		{req(12, OpClear, str("sb")), func(r *Request) bool { return string(r.Sandbox) == "sb" }, 0},
		{req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m")), func(r *Request) bool {
			return string(r.Value) == "d" && r.TTLMs == 1 && r.IdleMs == 2 && string(r.UserID) == "u" && string(r.Meta) == "m" && !r.HasExt
		}, 0},
		{req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m"), u8(1), u32(3), u8(1), u8(6), str("1.2.3.4"), str("ua"), u64(1234), u32(5)), func(r *Request) bool {
			return r.HasExt && r.CreateFlags == 1 && r.MaxPerUser == 3 && r.OnLimit == 1 && r.BindMode == 6 && string(r.IP) == "1.2.3.4" && string(r.UserAgent) == "ua" &&
				r.AuthAt == 1234 && r.AuthMethods == 5
		}, len(req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m")))},
		{req(14, OpSResolve, str("sb"), str("t"), u8(1), u64(2000), u64(7)), func(r *Request) bool {
			return string(r.Token) == "t" && r.Flags == 1 && r.GraceMs == 2000 && r.MinRotateMs == 7
		}, 0},
		{req(14, OpSResolve, str("sb"), str("t"), u8(7), u64(2000), u64(7), u8(2), str("::1"), str("ua")), func(r *Request) bool {
			return r.Flags == 7 && r.OnMismatch == 2 && string(r.IP) == "::1" && string(r.UserAgent) == "ua"
		}, 0},
		{req(15, OpSUpdate, str("sb"), str("t"), byts("d")), func(r *Request) bool { return string(r.Value) == "d" && !r.HasExt }, 0},
		{req(15, OpSUpdate, str("sb"), str("t"), byts("d"), u64(500)), func(r *Request) bool { return r.HasExt && r.GraceMs == 500 },
			len(req(15, OpSUpdate, str("sb"), str("t"), byts("d")))},
		{req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(1), byts("")), func(r *Request) bool {
			return string(r.Token) == "t" && r.GraceMs == 2000 && r.Flags == 1 && len(r.Value) == 0 && !r.HasExt
		}, 0},
		{req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(1), byts(""), u64(99), u32(2)), func(r *Request) bool {
			return r.HasExt && r.AuthAt == 99 && r.AuthMethods == 2
		}, len(req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(1), byts("")))},
		{req(21, OpSRevokeSandbox, str("sb")), func(r *Request) bool { return string(r.Sandbox) == "sb" }, 0},
		{req(22, OpSRevokeOthers, str("sb"), str("t")), func(r *Request) bool { return string(r.Token) == "t" }, 0},
		{req(16, OpSRevoke, str("sb"), str("t")), func(r *Request) bool { return string(r.Token) == "t" }, 0},
		{req(17, OpSList, str("sb"), str("u")), func(r *Request) bool { return string(r.UserID) == "u" }, 0},
		{req(18, OpSRevokeAll, str("sb"), str("u"), str("t")), func(r *Request) bool {
			return string(r.UserID) == "u" && string(r.Token) == "t"
		}, 0},
		{req(19, OpSRevokeID, str("sb"), str("id")), func(r *Request) bool { return string(r.SessionID) == "id" }, 0},
		{req(21, OpSPeek, str("sb"), str("t"), u64(2000), u8(0)), func(r *Request) bool {
			return string(r.Sandbox) == "sb" && string(r.Token) == "t" && r.GraceMs == 2000 && r.Flags == 0
		}, 0},
		{req(21, OpSPeek, str("sb"), str("t"), u64(2000), u8(2), u8(2), str("::1"), str("ua")), func(r *Request) bool {
			return r.Flags == PeekFlagCheckBinding && r.OnMismatch == 2 && string(r.IP) == "::1" && string(r.UserAgent) == "ua"
		}, 0},
		{req(22, OpSPeekID, str("sb"), str("id")), func(r *Request) bool { return string(r.SessionID) == "id" }, 0},
		{req(21, OpDeviceChallenge, str("sb"), str("t"), u64(2000)), func(r *Request) bool { return string(r.Token) == "t" && r.GraceMs == 2000 }, 0},
		{req(22, OpDeviceRegister, str("sb"), str("t"), u64(2000), str("jws"), u8(3), u64(600_000)), func(r *Request) bool {
			return string(r.Proof) == "jws" && r.Algs == 3 && r.LifetimeMs == 600_000
		}, 0},
		{req(23, OpDeviceRefresh, str("sb"), str("t"), u64(1), str("jws"), u64(5000)), func(r *Request) bool {
			return string(r.Proof) == "jws" && r.GraceMs == 1 && r.LifetimeMs == 5000
		}, 0},
	}
	seen := map[Op]bool{}
	for _, c := range cases {
		var r Request
		if err := DecodeRequest(c.payload, &r); err != nil {
			t.Fatalf("op %v: %v", Op(c.payload[4]), err)
		}
		if !c.check(&r) {
			t.Fatalf("op %v decoded wrongly: %+v", r.Op, r)
		}
		seen[r.Op] = true
		// Every strict prefix of the body is BAD_REQUEST (but the one that leaves the op's
		// extension fields out as a whole), as is any trailing byte.
		for n := 5; n < len(c.payload); n++ {
			if n == c.base {
				if err := DecodeRequest(c.payload[:n], &r); err != nil || r.HasExt {
					t.Fatalf("op %v without its extension: %v", Op(c.payload[4]), err)
				}
				continue
			}
			if err := DecodeRequest(c.payload[:n], &r); code(err) != xerr.BadRequest {
				t.Fatalf("op %v truncated to %d bytes: %v", Op(c.payload[4]), n, err)
			}
		}
		if err := DecodeRequest(append(bytes.Clone(c.payload), 0), &r); code(err) != xerr.BadRequest {
			t.Fatalf("op %v with a trailing byte: %v", Op(c.payload[4]), err)
		}
	}
	if len(seen) != len(Ops()) {
		t.Fatalf("tested %d ops of %d", len(seen), len(Ops()))
	}
}

func code(err error) xerr.Code {
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return xe.Code
	}
	return 0
}

func TestDecodeRequestErrors(t *testing.T) {
	var r Request
	cases := map[string]struct {
		payload []byte
		want    xerr.Code
	}{
		"unknown op":         {req(1, Op(0x7F)), xerr.UnknownOp},
		"op zero":            {req(1, Op(0)), xerr.UnknownOp},
		"invalid UTF-8 str":  {req(1, OpClear, []byte{2, 0, 0xff, 0xfe}), xerr.BadRequest},
		"bytes past the end": {req(1, OpKVGet, str("sb"), u32(1000), []byte("k")), xerr.BadRequest},
		"huge bytes length":  {req(1, OpKVGet, str("sb"), u32(0xFFFFFFFF)), xerr.BadRequest},
		"unknown flag bits":  {req(1, OpSResolve, str("sb"), str("t"), u8(2), u64(0), u64(0)), xerr.BadRequest},
		"too many secrets":   {req(1, OpConfigure, u16(2), str(""), byts("{}"), u16(5), str("a"), byts("b")), xerr.BadRequest},
		"short header":       {[]byte{1, 0, 0}, xerr.BadRequest},
		"no deadline":        {append(u32(1), byte(OpPing)), xerr.BadRequest},
		"short deadline":     {append(u32(1), byte(OpPing), 1, 2, 3), xerr.BadRequest},
	}
	for name, c := range cases {
		if err := DecodeRequest(c.payload, &r); code(err) != c.want {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// The error names the op and field.
	err := DecodeRequest(req(1, OpKVSet, str("sb"), byts("k")), &r)
	if err == nil || !strings.Contains(err.Error(), "KV_SET") || !strings.Contains(err.Error(), "value") {
		t.Fatalf("error does not name op and field: %v", err)
	}
}

// TestDecodeRequestDeadline: the header's i64 deadline, before every op's body.
func TestDecodeRequestDeadline(t *testing.T) {
	for _, deadline := range []int64{0, 1, 1_900_000_000_000, -1} {
		p := AppendI64(append(u32(3), byte(OpClear)), deadline)
		p = append(p, str("sb")...)
		var r Request
		if err := DecodeRequest(p, &r); err != nil || r.Deadline != deadline || string(r.Sandbox) != "sb" {
			t.Fatalf("deadline %d: %+v, %v", deadline, r, err)
		}
	}
}

// TestCheckReply: the table's reply layouts accept what the sidecar sends and refuse a missing
// field, a trailing byte and a status the op does not answer.
func TestCheckReply(t *testing.T) {
	resolved := append(str("tok"), 1)
	resolved = append(resolved, u64(5)...)
	resolved = append(resolved, str("sid")...)
	resolved = append(resolved, byts("data")...)
	resolved = append(resolved, 0, 0)
	resolved = append(resolved, str("")...)
	resolved = append(resolved, u64(7)...)
	resolved = append(resolved, u32(1)...)
	ok := []struct {
		op     Op
		status Status
		body   []byte
	}{
		{OpPing, StatusOK, nil},
		{OpKVGet, StatusNotFound, nil},
		{OpKVScan, StatusOK, append(append(str(""), u32(2)...), append(byts("a"), byts("b")...)...)},
		{OpSResolve, StatusOK, resolved},
		{OpSResolve, StatusReused, str("sid")},
		{OpSResolve, StatusMismatch, append(str("sid"), 1, 1)},
		{OpKVSet, StatusError, append(u16(4), str("too big")...)},
	}
	for _, c := range ok {
		if err := CheckReply(c.op, c.status, c.body); err != nil {
			t.Errorf("%v %v: %v", c.op, c.status, err)
		}
	}
	bad := []struct {
		op     Op
		status Status
		body   []byte
	}{
		{OpPing, StatusOK, []byte{0}},
		{OpKVSet, StatusOK, u32(1)},
		{OpSResolve, StatusOK, resolved[:len(resolved)-1]},
		{OpKVSet, StatusNotFound, nil},
		{OpKVGet, StatusReused, str("sid")},
		{OpPing, Status(9), nil},
	}
	for _, c := range bad {
		if err := CheckReply(c.op, c.status, c.body); err == nil {
			t.Errorf("%v %v %x: accepted", c.op, c.status, c.body)
		}
	}
	if err := CheckSidecarFrame(FrameKindHello, Hello("1.0.0+go")[4+ReplyHeaderSize:]); err != nil {
		t.Errorf("HELLO: %v", err)
	}
	expired := ExpiredFrame("sb", []byte("abcdefghijklmnopqrstuv"), 22)
	if err := CheckSidecarFrame(FrameKindExpired, expired[4+ReplyHeaderSize:]); err != nil {
		t.Errorf("EXPIRED: %v", err)
	}
	for _, c := range []struct {
		name   string
		reason uint8
		ids    string
	}{
		{"one id", EndedRevoked, "abcdefghijklmnopqrstuv"},
		{"two ids", EndedRegenerated, "abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUV"},
		{"none", EndedExpired, ""},
	} {
		ended := EndedFrame("sb", c.reason, []byte(c.ids), 22)
		if err := CheckSidecarFrame(FrameKindEnded, ended[4+ReplyHeaderSize:]); err != nil {
			t.Errorf("ENDED %s: %v", c.name, err)
		}
		d := NewDecoder(ended[4+ReplyHeaderSize:])
		if string(d.Str("sb")) != "sb" || d.U8("reason") != c.reason || int(d.U32("n")) != len(c.ids)/22 {
			t.Errorf("ENDED %s: %x", c.name, ended)
		}
	}
	if err := CheckSidecarFrame(FrameKindEnded, []byte{0, 0}); err == nil {
		t.Error("a truncated ENDED frame passed")
	}
}

func TestReplies(t *testing.T) {
	h := Hello("1.2.3+go")
	want := append(u32(0), FrameKindHello)
	want = append(want, u16(Version)...)
	want = append(want, str("1.2.3+go")...)
	if !bytes.Equal(h, frame(want)) {
		t.Fatalf("HELLO = %x", h)
	}
	e := ErrorReply(5, xerr.KeyTooLarge, "too big")
	want = append(u32(5), byte(StatusError))
	want = append(want, u16(uint16(xerr.KeyTooLarge))...)
	want = append(want, str("too big")...)
	if !bytes.Equal(e, frame(want)) {
		t.Fatalf("ERROR = %x", e)
	}
	if s := SimpleReply(6, StatusNotFound); !bytes.Equal(s, frame(append(u32(6), byte(StatusNotFound)))) {
		t.Fatalf("NOT_FOUND = %x", s)
	}
	if got := AppendStr(nil, strings.Repeat("x", 70000)); len(got) != 2+0xFFFF {
		t.Fatal("AppendStr does not bound its length")
	}
}
