package redisstore

import (
	"encoding/binary"
	"strconv"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// What a session is in Redis: one hash with the fields
//
//	h  sealed header: the session's session.State (header.go)
//	d  sealed data
//	l  sealed last-seen time (written by every resolve, without touching h)
//	m  sealed device meta (absent when empty)
//
// and a KV record is a hash with v (sealed value || name || u16 len(name), crypto.SealKV) and
// c (its 5-day cap, creation + 432,000,000 ms, in clear: a script applies it to KV_TOUCH).
// Each field is sealed on its own with the sandbox's AES-256-GCM key and additional data
// naming the field's kind and the record's keyed hash, so a field moved to another field,
// record or sandbox fails to open.
const (
	kindHeader   byte = 'h'
	kindData     byte = 'd'
	kindLastSeen byte = 'l'
	kindMeta     byte = 'm'
	kindValue    byte = 'v'
)

// seal seals plaintext (written by fill into a buffer of n bytes) as a field of kind for
// record k.
func seal(keys *crypto.SandboxKeys, kind byte, k *key, n int, fill func([]byte)) (string, error) {
	buf := crypto.NewSealBuffer(n)
	fill(buf[crypto.NonceSize:])
	out, err := keys.SealBuffer(buf, kind, k)
	if err != nil {
		return "", xerr.New(xerr.Internal, "sealing failed")
	}
	return sendable(out)
}

// sendable turns a sealed buffer into the string sent to Redis and wipes the buffer.
func sendable(out []byte) (string, error) {
	s := string(out)
	clear(out)
	return s, nil
}

func sealBytes(keys *crypto.SandboxKeys, kind byte, k *key, p []byte) (string, error) {
	return seal(keys, kind, k, len(p), func(b []byte) { copy(b, p) })
}

func sealHeader(keys *crypto.SandboxKeys, k *key, st *session.State) (string, error) {
	return seal(keys, kindHeader, k, headerSize(st), func(b []byte) { encodeHeader(st, b) })
}

func sealTime(keys *crypto.SandboxKeys, k *key, t int64) (string, error) {
	return seal(keys, kindLastSeen, k, 8, func(b []byte) { binary.LittleEndian.PutUint64(b, uint64(t)) })
}

// sealKV seals a KV record as the field v.
func sealKV(keys *crypto.SandboxKeys, k *key, name, value []byte) (string, error) {
	out, err := keys.SealKV(crypto.NewSealBuffer(crypto.KVSize(name, value)), kindValue, k, name, value)
	if err != nil {
		return "", err
	}
	return sendable(out)
}

// open appends the plaintext of a sealed field to dst.
func open(keys *crypto.SandboxKeys, kind byte, k *key, sealed string, dst []byte) ([]byte, error) {
	return keys.OpenRecord(dst, []byte(sealed), kind, k)
}

func openHeader(keys *crypto.SandboxKeys, k *key, sealed string) (session.State, error) {
	p, err := open(keys, kindHeader, k, sealed, nil)
	if err != nil {
		return session.State{}, err
	}
	st, ok := decodeHeader(p)
	if !ok {
		return st, crypto.ErrMalformed()
	}
	return st, nil
}

func openTime(keys *crypto.SandboxKeys, k *key, sealed string) (int64, error) {
	p, err := open(keys, kindLastSeen, k, sealed, nil)
	if err != nil {
		return 0, err
	}
	if len(p) != 8 {
		return 0, crypto.ErrMalformed()
	}
	return int64(binary.LittleEndian.Uint64(p)), nil
}

func ms(t int64) string { return strconv.FormatInt(t, 10) }
