package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzFrameDecoder feeds arbitrary byte streams to ReadFrame: it must never panic, never
// return a payload longer than the maximum or shorter than 5 bytes, and consume the stream
// exactly frame by frame.
func FuzzFrameDecoder(f *testing.F) {
	f.Add([]byte{}, uint16(64))
	f.Add(frame(header(1, OpPing)), uint16(64))
	f.Add(append(frame(header(1, OpPing)), frame(header(2, OpStats))...), uint16(64))
	f.Add(frame(append(header(3, OpKVSet), make([]byte, 100)...)), uint16(50))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}, uint16(64))
	f.Add([]byte{3, 0, 0, 0, 1, 2, 3}, uint16(64))
	f.Add([]byte{10, 0}, uint16(64))
	f.Fuzz(func(t *testing.T, stream []byte, max16 uint16) {
		max := uint32(max16) + 5
		r := bufio.NewReader(bytes.NewReader(stream))
		consumed := 0
		for i := 0; i < len(stream)+1; i++ {
			payload, err := ReadFrame(r, max)
			if err == nil {
				if len(payload) < 5 || uint32(len(payload)) > max {
					t.Fatalf("payload of %d bytes with max %d", len(payload), max)
				}
				consumed += 4 + len(payload)
				if !bytes.Equal(payload, stream[consumed-len(payload):consumed]) {
					t.Fatal("payload is not the stream's bytes")
				}
				continue
			}
			var tl *TooLargeError
			switch {
			case errors.As(err, &tl):
				n := binary.LittleEndian.Uint32(stream[consumed:])
				if n <= max || tl.Size != n || tl.ID != binary.LittleEndian.Uint32(stream[consumed+4:]) {
					t.Fatalf("bad TooLargeError %+v at %d", tl, consumed)
				}
				consumed += 4 + int(n)
			case errors.Is(err, ErrShortFrame):
				consumed += 4 + int(binary.LittleEndian.Uint32(stream[consumed:]))
			case errors.Is(err, io.EOF):
				if consumed != len(stream) {
					t.Fatalf("EOF after %d of %d bytes", consumed, len(stream))
				}
				return
			case errors.Is(err, ErrTruncated):
				return
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// FuzzRequestDecoder feeds arbitrary payloads to DecodeRequest: it must never panic, and an
// accepted request must re-encode with the table's reference encoder (AppendRequest, generated
// from the same table as the decoder) to exactly the same bytes: no byte is ignored, no field
// read twice, and the optional groups are present exactly when the decoder says so.
func FuzzRequestDecoder(f *testing.F) {
	f.Add(req(1, OpConfigure, u16(Version), str("0.1.0"), byts(`{"maxFrameSize":4096}`), u16(1), str("masterKey"), byts("0123456789abcdef0123456789abcdef")))
	f.Add(req(2, OpPing))
	f.Add(req(5, OpKVSet, str("sb"), byts("k"), byts("v"), u64(9)))
	f.Add(req(11, OpKVScan, str("sb"), byts("p"), str("c"), u32(10)))
	f.Add(req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m")))
	f.Add(req(14, OpSResolve, str("sb"), str("t"), u8(1), u64(2000), u64(7)))
	f.Add(req(18, OpSRevokeAll, str("sb"), str("u"), str("t")))
	f.Add(req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m"), u8(1), u32(3), u8(0), u8(5), str("10.0.0.1"), str("ua"), u64(1), u32(5)))
	f.Add(req(14, OpSResolve, str("sb"), str("t"), u8(7), u64(2000), u64(7), u8(1), str("::1"), str("ua")))
	f.Add(req(15, OpSUpdate, str("sb"), str("t"), byts("d"), u64(100)))
	f.Add(req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(0), byts("d")))
	f.Add(req(21, OpSPeek, str("sb"), str("t"), u64(2000), u8(0)))
	f.Add(req(21, OpSPeek, str("sb"), str("t"), u64(2000), u8(2), u8(1), str("10.0.0.1"), str("ua")))
	f.Add(req(22, OpSPeekID, str("sb"), str("id")))
	f.Add(req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(1), byts(""), u64(1700000000000), u32(2097152)))
	f.Add(req(21, OpSRevokeSandbox, str("sb")))
	f.Add(req(22, OpSRevokeOthers, str("sb"), str("t")))
	f.Add(req(1, OpKVGet, str("sb"), u32(0xFFFFFFFF)))
	f.Add([]byte{1, 0, 0, 0, 0x21, 0xff, 0xff})
	f.Add(AppendI64(append(u32(9), byte(OpClear)), -1))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r Request
		if err := DecodeRequest(payload, &r); err != nil {
			return
		}
		if got := AppendRequest(nil, &r); !bytes.Equal(got, payload) {
			t.Fatalf("re-encoded %x, decoded from %x", got, payload)
		}
	})
}

// FuzzCheckReply feeds arbitrary reply bodies to the table's reply layout check: it must
// never panic, whatever the op, status or body.
func FuzzCheckReply(f *testing.F) {
	f.Add(uint8(OpSResolve), uint8(StatusOK), append(str("t"), 1, 2, 3))
	f.Add(uint8(OpSList), uint8(StatusOK), u32(0xFFFFFFFF))
	f.Add(uint8(OpKVScan), uint8(StatusOK), append(str(""), u32(3)...))
	f.Add(uint8(0), uint8(StatusError), append(u16(1), str("m")...))
	f.Fuzz(func(t *testing.T, op, status uint8, body []byte) {
		_ = CheckReply(Op(op), Status(status), body)
		_ = CheckSidecarFrame(status, body)
	})
}
