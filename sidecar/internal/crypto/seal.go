package crypto

import (
	"crypto/rand"
	"errors"
	"sync"
)

// Record kinds, bound into the AAD so a sealed record cannot be moved to another kind.
const (
	KindKV      byte = 'K'
	KindSession byte = 'S'
	KindDevice  byte = 'D' // a session's device part (DBSC), sealed apart from its data
)

// NonceSize and Overhead describe a sealed record: nonce || ciphertext || tag.
const (
	NonceSize = 12
	TagSize   = 16
	Overhead  = NonceSize + TagSize
)

// ErrOpen is returned when a sealed record fails authentication.
var ErrOpen = errors.New("sealed record failed to open")

func makeAADPrefix(sandbox string) []byte {
	b := make([]byte, 0, 6+len(sandbox))
	b = append(b, "xems1"...)
	b = append(b, byte(len(sandbox)))
	return append(b, sandbox...)
}

// aadBuf holds an AAD while the AEAD (an interface, through which a stack buffer would escape)
// uses it; pooled so sealing and opening allocate nothing.
type aadBuf [96]byte

var aadPool = sync.Pool{New: func() any { return new(aadBuf) }}

// aad = "xems1" || len(sandbox) || sandbox || kind || recordKey.
func (k *SandboxKeys) buildAAD(buf *aadBuf, kind byte, recKey *Digest) []byte {
	b := append(buf[:0], k.aad...)
	b = append(b, kind)
	return append(b, recKey[:]...)
}

// SealedSize is the size of a sealed record holding n plaintext bytes.
func SealedSize(n int) int { return n + Overhead }

// NewSealBuffer returns a buffer for sealing n plaintext bytes in place: write the plaintext
// into buf[NonceSize:], then call SealBuffer. One allocation holds the whole sealed record, and
// no separate plaintext copy is left behind.
func NewSealBuffer(n int) []byte { return make([]byte, NonceSize+n, NonceSize+n+TagSize) }

// SealBuffer seals, in place, a buffer laid out as NewSealBuffer makes it (len = nonce +
// plaintext, capacity for the tag), whose plaintext is filled in. It returns the sealed record:
// nonce || ciphertext || tag, with a fresh random 96-bit nonce, bound to this sandbox, its
// kind and its hashed key.
func (k *SandboxKeys) SealBuffer(buf []byte, kind byte, recKey *Digest) ([]byte, error) {
	abuf := aadPool.Get().(*aadBuf)
	defer aadPool.Put(abuf)
	aad := k.buildAAD(abuf, kind, recKey)
	nonce := buf[:NonceSize]
	if _, err := rand.Read(nonce); err != nil {
		clear(buf)
		return nil, err
	}
	return k.aead.Seal(buf[:NonceSize], nonce, buf[NonceSize:], aad), nil
}

// Open appends the plaintext of a sealed record to dst, or fails with ErrOpen.
func (k *SandboxKeys) Open(dst, sealed []byte, kind byte, recKey *Digest) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrOpen
	}
	abuf := aadPool.Get().(*aadBuf)
	defer aadPool.Put(abuf)
	aad := k.buildAAD(abuf, kind, recKey)
	out, err := k.aead.Open(dst, sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
