package protocol

import (
	"encoding/binary"
	"unicode/utf8"
)

// Decoder reads the primitive encodings from a request body. The first failure sticks: later
// reads return zero values and Err reports the first field that failed, so decoding code can
// read every field and check once.
type Decoder struct {
	b     []byte
	field string // name of the field that failed
	why   string
}

// NewDecoder returns a decoder over b. Returned byte slices alias b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

func (d *Decoder) fail(field, why string) {
	if d.field == "" {
		d.field, d.why = field, why
	}
	d.b = nil
}

func (d *Decoder) take(field string, n int) []byte {
	if d.field != "" {
		return nil
	}
	if n > len(d.b) {
		d.fail(field, "runs past the end of the frame")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// U8 reads a byte.
func (d *Decoder) U8(field string) uint8 {
	if v := d.take(field, 1); v != nil {
		return v[0]
	}
	return 0
}

// U16 reads a little-endian uint16.
func (d *Decoder) U16(field string) uint16 {
	if v := d.take(field, 2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

// U32 reads a little-endian uint32.
func (d *Decoder) U32(field string) uint32 {
	if v := d.take(field, 4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// U64 reads a little-endian uint64.
func (d *Decoder) U64(field string) uint64 {
	if v := d.take(field, 8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// I64 reads a little-endian two's complement int64.
func (d *Decoder) I64(field string) int64 { return int64(d.U64(field)) }

// Str reads a u16-length-prefixed UTF-8 string (as bytes aliasing the frame).
func (d *Decoder) Str(field string) []byte {
	n := d.U16(field)
	v := d.take(field, int(n))
	if v != nil && !utf8.Valid(v) {
		d.fail(field, "is not valid UTF-8")
		return nil
	}
	if v == nil && d.field == "" {
		return []byte{}
	}
	return v
}

// Bytes reads a u32-length-prefixed byte string (aliasing the frame).
func (d *Decoder) Bytes(field string) []byte {
	n := d.U32(field)
	if d.field != "" {
		return nil
	}
	if uint64(n) > uint64(len(d.b)) {
		d.fail(field, "runs past the end of the frame")
		return nil
	}
	return d.take(field, int(n))
}

// Done reports whether the body has been read completely (and no field failed): where an op
// has optional extension fields, their absence is a body that is done before them.
func (d *Decoder) Done() bool { return d.field == "" && len(d.b) == 0 }

// Err returns the first decoding failure, or a trailing-bytes failure.
func (d *Decoder) Err() (field, why string, ok bool) {
	if d.field != "" {
		return d.field, d.why, false
	}
	if len(d.b) != 0 {
		return "body", "has trailing bytes", false
	}
	return "", "", true
}

// AppendU8 and friends append the primitive encodings.
func AppendU8(b []byte, v uint8) []byte   { return append(b, v) }
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
func AppendI64(b []byte, v int64) []byte  { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

// AppendStr appends a str (u16 length + bytes). Longer input is truncated to 65535 bytes, which
// never happens for what the sidecar sends (tokens, ids, messages it writes itself).
func AppendStr(b []byte, s string) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF]
	}
	b = AppendU16(b, uint16(len(s)))
	return append(b, s...)
}

// AppendStrBytes is AppendStr for a byte slice.
func AppendStrBytes(b []byte, s []byte) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF]
	}
	b = AppendU16(b, uint16(len(s)))
	return append(b, s...)
}

// AppendBytes appends bytes (u32 length + raw bytes).
func AppendBytes(b []byte, v []byte) []byte {
	b = AppendU32(b, uint32(len(v)))
	return append(b, v...)
}
