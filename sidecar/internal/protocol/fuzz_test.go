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
// accepted request must re-encode (per op, field by field) to exactly the same bytes.
func FuzzRequestDecoder(f *testing.F) {
	f.Add(req(1, OpConfigure, u16(1), byts(`{"maxFrameSize":4096}`), u16(1), str("masterKey"), byts("0123456789abcdef0123456789abcdef")))
	f.Add(req(2, OpPing))
	f.Add(req(5, OpKVSet, str("sb"), byts("k"), byts("v"), u64(9)))
	f.Add(req(11, OpKVScan, str("sb"), byts("p"), str("c"), u32(10)))
	f.Add(req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m")))
	f.Add(req(14, OpSResolve, str("sb"), str("t"), u8(1), u64(2000), u64(7)))
	f.Add(req(18, OpSRevokeAll, str("sb"), str("u"), str("t")))
	f.Add(req(13, OpSCreate, str("sb"), byts("d"), u64(1), u64(2), str("u"), byts("m"), u8(1), u32(3), u8(0), u8(5), str("10.0.0.1"), str("ua")))
	f.Add(req(14, OpSResolve, str("sb"), str("t"), u8(7), u64(2000), u64(7), u8(1), str("::1"), str("ua")))
	f.Add(req(15, OpSUpdate, str("sb"), str("t"), byts("d"), u64(100)))
	f.Add(req(20, OpSRegen, str("sb"), str("t"), u64(2000), u8(0), byts("d")))
	f.Add(req(1, OpKVGet, str("sb"), u32(0xFFFFFFFF)))
	f.Add([]byte{1, 0, 0, 0, 0x21, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r Request
		if err := DecodeRequest(payload, &r); err != nil {
			return
		}
		if got := encodeRequest(&r); !bytes.Equal(got, payload) {
			t.Fatalf("re-encoded %x, decoded from %x", got, payload)
		}
	})
}

// encodeRequest is the reference encoder of docs/protocol.md's request table.
func encodeRequest(r *Request) []byte {
	b := header(r.ID, r.Op)
	s := func(v []byte) { b = AppendStrBytes(b, v) }
	by := func(v []byte) { b = AppendBytes(b, v) }
	switch r.Op {
	case OpConfigure:
		b = AppendU16(b, r.ProtocolVersion)
		by(r.ConfigJSON)
		b = AppendU16(b, uint16(len(r.Secrets)))
		for _, sec := range r.Secrets {
			s(sec.Name)
			by(sec.Value)
		}
	case OpKVSet:
		s(r.Sandbox)
		by(r.Key)
		by(r.Value)
		b = AppendU64(b, r.TTLMs)
	case OpKVGet, OpKVDel, OpKVHas, OpKVTTL:
		s(r.Sandbox)
		by(r.Key)
	case OpKVTouch:
		s(r.Sandbox)
		by(r.Key)
		b = AppendU64(b, r.TTLMs)
	case OpKVScan:
		s(r.Sandbox)
		by(r.Key)
		s(r.Cursor)
		b = AppendU32(b, r.Limit)
	case OpClear:
		s(r.Sandbox)
	case OpSCreate:
		s(r.Sandbox)
		by(r.Value)
		b = AppendU64(b, r.TTLMs)
		b = AppendU64(b, r.IdleMs)
		s(r.UserID)
		by(r.Meta)
		if r.HasExt {
			b = append(b, r.CreateFlags)
			b = AppendU32(b, r.MaxPerUser)
			b = append(b, r.OnLimit, r.BindMode)
			s(r.IP)
			s(r.UserAgent)
		}
	case OpSResolve:
		s(r.Sandbox)
		s(r.Token)
		b = append(b, r.Flags)
		b = AppendU64(b, r.GraceMs)
		b = AppendU64(b, r.MinRotateMs)
		if r.Flags&FlagCheckBinding != 0 {
			b = append(b, r.OnMismatch)
			s(r.IP)
			s(r.UserAgent)
		}
	case OpSUpdate:
		s(r.Sandbox)
		s(r.Token)
		by(r.Value)
		if r.HasExt {
			b = AppendU64(b, r.GraceMs)
		}
	case OpSRegen:
		s(r.Sandbox)
		s(r.Token)
		b = AppendU64(b, r.GraceMs)
		b = append(b, r.Flags)
		by(r.Value)
	case OpSRevoke:
		s(r.Sandbox)
		s(r.Token)
	case OpSList:
		s(r.Sandbox)
		s(r.UserID)
	case OpSRevokeAll:
		s(r.Sandbox)
		s(r.UserID)
		s(r.Token)
	case OpSRevokeID:
		s(r.Sandbox)
		s(r.SessionID)
	}
	return b
}
