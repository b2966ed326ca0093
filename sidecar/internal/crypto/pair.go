package crypto

import (
	"bytes"
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Sealed pairs: the plaintext layout every backend seals its records in, a || b || len(b),
// where len(b) is little-endian in lenSize bytes (2 or 4). A KV record is value || name ||
// u16 (the name is inside so a scan can list names: the record is stored under its keyed
// hash only); the memory store's session is data || meta || u32. A nil error from Open means
// the record authenticated and its layout is sound.

// The errors of a record that does not open: wire errors (INTERNAL), saying nothing about it.
var (
	errRecordOpen      = xerr.New(xerr.Internal, "a sealed record failed to open")
	errRecordMalformed = xerr.New(xerr.Internal, "a sealed record is malformed")
	errRecordSeal      = xerr.New(xerr.Internal, "sealing failed")
)

// PairSize is the plaintext size of the pair a, b.
func PairSize(a, b []byte, lenSize int) int { return len(a) + len(b) + lenSize }

// SealPair writes a || b || len(b) into buf[NonceSize:] and seals it in place (see SealBuffer):
// buf is NonceSize + PairSize bytes with room for the tag (NewSealBuffer, or a record's own
// sealed area without its last TagSize bytes).
func (k *SandboxKeys) SealPair(buf []byte, kind byte, recKey *Digest, a, b []byte, lenSize int) ([]byte, error) {
	pt := buf[NonceSize:]
	copy(pt, a)
	copy(pt[len(a):], b)
	if lenSize == 2 {
		binary.LittleEndian.PutUint16(pt[len(a)+len(b):], uint16(len(b)))
	} else {
		binary.LittleEndian.PutUint32(pt[len(a)+len(b):], uint32(len(b)))
	}
	out, err := k.SealBuffer(buf, kind, recKey)
	if err != nil {
		return nil, errRecordSeal
	}
	return out, nil
}

// OpenRecord is Open with the wire error of a record that fails to open.
func (k *SandboxKeys) OpenRecord(dst, sealed []byte, kind byte, recKey *Digest) ([]byte, error) {
	out, err := k.Open(dst, sealed, kind, recKey)
	if err != nil {
		return nil, errRecordOpen
	}
	return out, nil
}

// OpenPair appends the plaintext of a sealed pair to dst and splits it: out is dst extended by
// a only; a and b alias the plaintext (b lives past len(out), in out's capacity, so the caller
// that hands out only out can wipe b).
func (k *SandboxKeys) OpenPair(dst, sealed []byte, kind byte, recKey *Digest, lenSize int) (out, a, b []byte, err error) {
	start := len(dst)
	full, err := k.OpenRecord(dst, sealed, kind, recKey)
	if err != nil {
		return nil, nil, nil, err
	}
	pt := full[start:]
	if len(pt) < lenSize {
		return nil, nil, nil, errRecordMalformed
	}
	var n uint64
	if lenSize == 2 {
		n = uint64(binary.LittleEndian.Uint16(pt[len(pt)-2:]))
	} else {
		n = uint64(binary.LittleEndian.Uint32(pt[len(pt)-4:]))
	}
	if n+uint64(lenSize) > uint64(len(pt)) {
		return nil, nil, nil, errRecordMalformed
	}
	alen := len(pt) - lenSize - int(n)
	return full[:start+alen], pt[:alen:alen], pt[alen : len(pt)-lenSize], nil
}

// ErrMalformed is the wire error of a record whose plaintext does not have its layout.
func ErrMalformed() error { return errRecordMalformed }

// OpenNamed opens a KV record (value || name || u16 len(name)) and appends its value to dst,
// if it is the record of name: ok is false for another name under the same keyed hash (a
// collision, never seen in practice and never served; nothing of it is left in dst).
func (k *SandboxKeys) OpenNamed(dst, sealed []byte, kind byte, recKey *Digest, name []byte) (out []byte, ok bool, err error) {
	out, _, stored, err := k.OpenKV(dst, sealed, kind, recKey)
	if err != nil {
		return nil, false, err
	}
	same := bytes.Equal(stored, name)
	clear(stored)
	if !same {
		clear(out[len(dst):])
		return nil, false, nil
	}
	return out, true, nil
}

// kvLen is the size of a KV record's name length.
const kvLen = 2

// KVSize is the plaintext size of the KV record of name and value.
func KVSize(name, value []byte) int { return PairSize(value, name, kvLen) }

// SealKV seals the KV record value || name || u16 len(name) in place into buf (see SealPair).
func (k *SandboxKeys) SealKV(buf []byte, kind byte, recKey *Digest, name, value []byte) ([]byte, error) {
	return k.SealPair(buf, kind, recKey, value, name, kvLen)
}

// OpenKV opens a KV record: out is dst extended by the value; value and name alias the
// plaintext (name past len(out)).
func (k *SandboxKeys) OpenKV(dst, sealed []byte, kind byte, recKey *Digest) (out, value, name []byte, err error) {
	return k.OpenPair(dst, sealed, kind, recKey, kvLen)
}
