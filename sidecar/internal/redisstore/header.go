package redisstore

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// A session's sealed header (field h) is its session.State. Layout (little-endian), version 2:
// version u8, flags u8 (session.Flag*), gen u32, verifier [16], created i64, issued i64,
// presented i64 (0: not yet), prevPresented i64, absolute expiry i64, idleMs u32, then [16]
// user, [16] address hash, [16] user-agent hash as the flags say, then u8 n and n x u32: the
// history (session.State.Older), then the authentication record with session.FlagAuth (auth.go), then the optional
// device part (device.go; absent in headers written before it, which load as they are). Version 1 (written before first presentations were kept) is
// read too: it has no presented and prevPresented, its own flag bits, and its history holds
// issue times (session.State.FromIssueTimes); the next write of the header is version 2.
const (
	headerVersion = 2
	headerFixed   = 1 + 1 + 4 + 16 + 8 + 8 + 8 + 8 + 8 + 4
	v1Fixed       = headerFixed - 16
)

// optional are the flags of the header's optional 16-byte parts, in their order.
var optional = [...]uint8{session.FlagUser, session.FlagBindIP, session.FlagBindUA}

func opt(st *session.State, f uint8) *key {
	switch f {
	case session.FlagUser:
		return &st.User
	case session.FlagBindIP:
		return &st.BoundIP
	}
	return &st.BoundUA
}

func headerSize(st *session.State) int {
	n := headerFixed + 1 + 4*len(st.Older) + authSize(st) + devicePartSize(st)
	for _, f := range optional {
		if st.Flags&f != 0 {
			n += 16
		}
	}
	return n
}

func encodeHeader(st *session.State, b []byte) {
	b[0] = headerVersion
	b[1] = st.Flags
	binary.LittleEndian.PutUint32(b[2:], st.Gen)
	copy(b[6:22], st.Verifier[:])
	o := 22
	for _, t := range [...]int64{st.Created, st.Issued, st.Presented, st.PrevPresented, st.AbsExp} {
		binary.LittleEndian.PutUint64(b[o:], uint64(t))
		o += 8
	}
	binary.LittleEndian.PutUint32(b[o:], st.IdleMs)
	o += 4
	for _, f := range optional {
		if st.Flags&f != 0 {
			copy(b[o:o+16], opt(st, f)[:])
			o += 16
		}
	}
	b[o] = byte(len(st.Older))
	o++
	for _, v := range st.Older {
		binary.LittleEndian.PutUint32(b[o:], v)
		o += 4
	}
	encodeAuth(st, b[o:])
	encodeDevicePart(st, b[o+authSize(st):])
}

func decodeHeader(b []byte) (st session.State, ok bool) {
	if len(b) < 2 {
		return st, false
	}
	switch b[0] {
	case headerVersion:
		if len(b) < headerFixed+1 {
			return st, false
		}
		st.Flags = b[1]
		o := 22
		for _, t := range [...]*int64{&st.Created, &st.Issued, &st.Presented, &st.PrevPresented, &st.AbsExp} {
			*t = int64(binary.LittleEndian.Uint64(b[o:]))
			o += 8
		}
		return st, decodeTail(&st, b, o, session.MaxOlder, true)
	case 1:
		if len(b) < v1Fixed+1 {
			return st, false
		}
		st.Flags = v1Flags(b[1])
		st.Created = int64(binary.LittleEndian.Uint64(b[22:]))
		st.Issued = int64(binary.LittleEndian.Uint64(b[30:]))
		st.AbsExp = int64(binary.LittleEndian.Uint64(b[38:]))
		if !decodeTail(&st, b, 46, session.HistoryCap-1, false) {
			return st, false
		}
		st.FromIssueTimes(st.Older)
		return st, true
	}
	return st, false
}

// decodeTail reads gen and verifier, and from o on idleMs, the optional parts, the history
// (at most max entries) and, if withDevice, the optional device part at the end.
func decodeTail(st *session.State, b []byte, o, max int, withDevice bool) bool {
	st.Gen = binary.LittleEndian.Uint32(b[2:])
	copy(st.Verifier[:], b[6:22])
	st.IdleMs = binary.LittleEndian.Uint32(b[o:])
	o += 4
	for _, f := range optional {
		if st.Flags&f != 0 {
			if len(b) < o+16 {
				return false
			}
			copy(opt(st, f)[:], b[o:o+16])
			o += 16
		}
	}
	if len(b) < o+1 {
		return false
	}
	n := int(b[o])
	o++
	if len(b) < o+4*n || n > max {
		return false
	}
	st.Older = make([]uint32, n)
	for i := range st.Older {
		st.Older[i] = binary.LittleEndian.Uint32(b[o:])
		o += 4
	}
	rest, ok := decodeAuth(st, b[o:])
	if !ok {
		return false
	}
	if !withDevice {
		return len(rest) == 0
	}
	return decodeDevicePart(st, rest)
}

// v1Flags maps the flag bits of a version 1 header to session.Flag*.
func v1Flags(f uint8) uint8 {
	var out uint8
	for _, m := range [...]struct{ v1, now uint8 }{
		{1, session.FlagUser}, {2, session.FlagBindIP}, {4, session.FlagBindSubnet}, {8, session.FlagBindUA}, {16, session.FlagRemember},
	} {
		if f&m.v1 != 0 {
			out |= m.now
		}
	}
	return out
}
