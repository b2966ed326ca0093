package redisstore

import (
	"encoding/binary"
	"strconv"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// What a session is in Redis: one hash with the fields
//
//	h  sealed header: the rotation state and the session's fixed properties (below)
//	d  sealed data
//	l  sealed last-seen time (written by every resolve, without touching h)
//	m  sealed device meta (absent when empty)
//
// and a KV record is a hash with v (sealed value || name || u16 len(name)) and c (its 5-day cap,
// creation + 432,000,000 ms, in clear: a script applies it to KV_TOUCH). Each field is sealed
// on its own with the sandbox's AES-256-GCM key and additional data naming the field's kind and
// the record's keyed hash, so a field moved to another field, record or sandbox fails to open.
const (
	kindHeader   byte = 'h'
	kindData     byte = 'd'
	kindLastSeen byte = 'l'
	kindMeta     byte = 'm'
	kindValue    byte = 'v'
)

// Header flags.
const (
	fUser       uint8 = 1
	fBindIP     uint8 = 2
	fBindSubnet uint8 = 4
	fBindUA     uint8 = 8
	fRemember   uint8 = 16
)

// graceCap is the memory store's: at most 32 superseded generations are remembered.
const graceCap = 32

const headerVersion = 1

// header is a session's sealed header. Layout (little-endian): version u8, flags u8, gen u32,
// verifier [16], created i64, issued i64, absolute expiry i64, idleMs u32, then [16] user,
// [16] address hash, [16] user-agent hash as the flags say, then u8 n and n x u32: the issue
// times (ms after created) of older generations superseded less than 60 s ago, oldest first.
type header struct {
	flags    uint8
	gen      uint32
	verifier key
	created  int64
	issued   int64
	absExp   int64
	idle     uint32
	user     key
	ip       key
	ua       key
	hist     []uint32
}

const headerFixed = 1 + 1 + 4 + 16 + 8 + 8 + 8 + 4

func (h *header) size() int {
	n := headerFixed + 1 + 4*len(h.hist)
	for _, f := range [...]uint8{fUser, fBindIP, fBindUA} {
		if h.flags&f != 0 {
			n += 16
		}
	}
	return n
}

func (h *header) encode(b []byte) {
	b[0] = headerVersion
	b[1] = h.flags
	binary.LittleEndian.PutUint32(b[2:], h.gen)
	copy(b[6:22], h.verifier[:])
	binary.LittleEndian.PutUint64(b[22:], uint64(h.created))
	binary.LittleEndian.PutUint64(b[30:], uint64(h.issued))
	binary.LittleEndian.PutUint64(b[38:], uint64(h.absExp))
	binary.LittleEndian.PutUint32(b[46:], h.idle)
	o := headerFixed
	for _, p := range [...]struct {
		f uint8
		d *key
	}{{fUser, &h.user}, {fBindIP, &h.ip}, {fBindUA, &h.ua}} {
		if h.flags&p.f != 0 {
			copy(b[o:o+16], p.d[:])
			o += 16
		}
	}
	b[o] = byte(len(h.hist))
	o++
	for _, v := range h.hist {
		binary.LittleEndian.PutUint32(b[o:], v)
		o += 4
	}
}

func (h *header) decode(b []byte) bool {
	if len(b) < headerFixed+1 || b[0] != headerVersion {
		return false
	}
	h.flags = b[1]
	h.gen = binary.LittleEndian.Uint32(b[2:])
	copy(h.verifier[:], b[6:22])
	h.created = int64(binary.LittleEndian.Uint64(b[22:]))
	h.issued = int64(binary.LittleEndian.Uint64(b[30:]))
	h.absExp = int64(binary.LittleEndian.Uint64(b[38:]))
	h.idle = binary.LittleEndian.Uint32(b[46:])
	o := headerFixed
	for _, p := range [...]struct {
		f uint8
		d *key
	}{{fUser, &h.user}, {fBindIP, &h.ip}, {fBindUA, &h.ua}} {
		if h.flags&p.f != 0 {
			if len(b) < o+16 {
				return false
			}
			copy(p.d[:], b[o:o+16])
			o += 16
		}
	}
	if len(b) < o+1 {
		return false
	}
	n := int(b[o])
	o++
	if len(b) != o+4*n || n >= graceCap {
		return false
	}
	h.hist = make([]uint32, n)
	for i := range h.hist {
		h.hist[i] = binary.LittleEndian.Uint32(b[o:])
		o += 4
	}
	return true
}

// expiresAt is the effective expiry: the absolute one, or the idle deadline if earlier.
func (h *header) expiresAt(lastSeen int64) int64 {
	e := h.absExp
	if h.idle > 0 {
		if d := lastSeen + int64(h.idle); d < e {
			e = d
		}
	}
	return e
}

// sessionFlags are the store.SessionFlag* bits resolve reports.
func (h *header) sessionFlags() uint8 {
	var f uint8
	if h.flags&fRemember != 0 {
		f |= store.SessionFlagRemember
	}
	if h.idle > 0 {
		f |= store.SessionFlagIdle
	}
	return f
}

// supersededAt returns when generation g (older than the current one) was superseded, if the
// header still remembers: generation g ended when g+1 was issued.
func (h *header) supersededAt(g uint32) (int64, bool) {
	d := h.gen - 1 - g
	if d == 0 {
		return h.issued, true
	}
	if int(d) > len(h.hist) {
		return 0, false
	}
	return h.created + int64(h.hist[len(h.hist)-int(d)]), true
}

// rotate moves the header to the next generation; t (the current token) is advanced. The
// history keeps the memory store's rule: remember when the previous generation was superseded
// if that is recent enough to matter to a grace window, at most graceCap-1 entries.
func (h *header) rotate(keys *crypto.SandboxKeys, t *crypto.Token, now int64) {
	if h.gen > 0 && h.issued > now-store.MaxGraceMs {
		hist := h.hist
		i := 0
		for i < len(hist) && h.created+int64(hist[i]) <= now-store.MaxGraceMs {
			i++
		}
		hist = append([]uint32(nil), hist[i:]...)
		if len(hist) >= graceCap-1 {
			hist = hist[len(hist)-(graceCap-2):]
		}
		h.hist = append(hist, uint32(h.issued-h.created))
	} else {
		h.hist = nil
	}
	keys.Advance(t)
	h.verifier = keys.Verifier(t)
	h.gen = t.Gen
	h.issued = now
}

// seal seals plaintext (written by fill into a buffer of n bytes) as a field of kind for
// record k.
func seal(keys *crypto.SandboxKeys, kind byte, k *key, n int, fill func([]byte)) (string, error) {
	buf := crypto.NewSealBuffer(n)
	fill(buf[crypto.NonceSize:])
	out, err := keys.SealBuffer(buf, kind, k)
	if err != nil {
		return "", xerr.New(xerr.Internal, "sealing failed")
	}
	s := string(out)
	clear(out)
	return s, nil
}

func sealBytes(keys *crypto.SandboxKeys, kind byte, k *key, p []byte) (string, error) {
	return seal(keys, kind, k, len(p), func(b []byte) { copy(b, p) })
}

func sealHeader(keys *crypto.SandboxKeys, k *key, h *header) (string, error) {
	return seal(keys, kindHeader, k, h.size(), h.encode)
}

func sealTime(keys *crypto.SandboxKeys, k *key, t int64) (string, error) {
	return seal(keys, kindLastSeen, k, 8, func(b []byte) { binary.LittleEndian.PutUint64(b, uint64(t)) })
}

// open appends the plaintext of a sealed field to dst.
func open(keys *crypto.SandboxKeys, kind byte, k *key, sealed string, dst []byte) ([]byte, error) {
	out, err := keys.Open(dst, []byte(sealed), kind, k)
	if err != nil {
		return nil, xerr.New(xerr.Internal, "a sealed record failed to open")
	}
	return out, nil
}

func openHeader(keys *crypto.SandboxKeys, k *key, sealed string) (header, error) {
	var h header
	p, err := open(keys, kindHeader, k, sealed, nil)
	if err != nil {
		return h, err
	}
	if !h.decode(p) {
		return h, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	return h, nil
}

func openTime(keys *crypto.SandboxKeys, k *key, sealed string) (int64, error) {
	p, err := open(keys, kindLastSeen, k, sealed, nil)
	if err != nil {
		return 0, err
	}
	if len(p) != 8 {
		return 0, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	return int64(binary.LittleEndian.Uint64(p)), nil
}

// sealKV seals value || name || u16 len(name) (the name is inside so SCAN can list names; the
// key is only its keyed hash).
func sealKV(keys *crypto.SandboxKeys, k *key, name, value []byte) (string, error) {
	return seal(keys, kindValue, k, len(value)+len(name)+2, func(b []byte) {
		copy(b, value)
		copy(b[len(value):], name)
		binary.LittleEndian.PutUint16(b[len(value)+len(name):], uint16(len(name)))
	})
}

// openKV appends the value to dst; name aliases the plaintext past the value (in out's
// capacity).
func openKV(keys *crypto.SandboxKeys, k *key, sealed string, dst []byte) (out, value, name []byte, err error) {
	start := len(dst)
	full, err := open(keys, kindValue, k, sealed, dst)
	if err != nil {
		return nil, nil, nil, err
	}
	pt := full[start:]
	if len(pt) < 2 {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	n := int(binary.LittleEndian.Uint16(pt[len(pt)-2:]))
	if n+2 > len(pt) {
		return nil, nil, nil, xerr.New(xerr.Internal, "a sealed record is malformed")
	}
	vlen := len(pt) - 2 - n
	return full[:start+vlen], pt[:vlen:vlen], pt[vlen : vlen+n], nil
}

func ms(t int64) string { return strconv.FormatInt(t, 10) }
