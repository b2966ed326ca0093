package crypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// Token layout: sid (16 random bytes) || gen (u32 big-endian) || secret (32 bytes), 52 bytes,
// sent as unpadded base64url: 70 characters of [A-Za-z0-9_-].
const (
	SIDSize     = 16
	SecretSize  = 32
	TokenRaw    = SIDSize + 4 + SecretSize
	TokenLength = 70 // base64.RawURLEncoding.EncodedLen(TokenRaw)
)

var b64 = base64.RawURLEncoding.Strict()

// Token is a parsed session token. It holds a secret: keep it on the stack and never log it.
type Token struct {
	SID    [SIDSize]byte
	Gen    uint32
	Secret [SecretSize]byte
}

// NewToken draws a fresh sid and secret from crypto/rand, at generation 0.
func NewToken() (Token, error) {
	var t Token
	var raw [SIDSize + SecretSize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return t, err
	}
	copy(t.SID[:], raw[:SIDSize])
	copy(t.Secret[:], raw[SIDSize:])
	clear(raw[:])
	return t, nil
}

// ParseToken parses the canonical 70-character form. Anything else is rejected without
// saying why (callers reply NOT_FOUND).
func ParseToken(s []byte) (Token, bool) {
	var t Token
	if len(s) != TokenLength {
		return t, false
	}
	var raw [TokenRaw]byte
	n, err := b64.Decode(raw[:], s)
	if err != nil || n != TokenRaw {
		clear(raw[:])
		return t, false
	}
	t.fromRaw(&raw)
	clear(raw[:])
	return t, true
}

func (t *Token) raw(out *[TokenRaw]byte) {
	copy(out[:SIDSize], t.SID[:])
	binary.BigEndian.PutUint32(out[SIDSize:], t.Gen)
	copy(out[SIDSize+4:], t.Secret[:])
}

func (t *Token) fromRaw(raw *[TokenRaw]byte) {
	copy(t.SID[:], raw[:SIDSize])
	t.Gen = binary.BigEndian.Uint32(raw[SIDSize:])
	copy(t.Secret[:], raw[SIDSize+4:])
}

// AppendEncoded appends the 70-character token to dst.
func (t *Token) AppendEncoded(dst []byte) []byte {
	var raw [TokenRaw]byte
	t.raw(&raw)
	start := len(dst)
	dst = append(dst, make([]byte, TokenLength)...)
	b64.Encode(dst[start:], raw[:])
	clear(raw[:])
	return dst
}

// Wipe zeroes the token.
func (t *Token) Wipe() { *t = Token{} }

// Verifier is what the store keeps instead of a token: HMAC(hashKey, "V" || sid || gen || secret).
func (k *SandboxKeys) Verifier(t *Token) Digest {
	var raw [TokenRaw]byte
	t.raw(&raw)
	d := k.digest(tagVerifier, raw[:], nil)
	clear(raw[:])
	return d
}

// VerifierEqual compares two verifiers in constant time.
func VerifierEqual(a, b *Digest) bool { return hmac.Equal(a[:], b[:]) }

// Advance moves t to its successor generation in place:
// secret(g+1) = HMAC(rotateKey, sid || u32be(g+1) || secret(g)).
// The successor is derived, never stored, so any holder of generation g can be handed the
// current token by walking the chain forward.
func (k *SandboxKeys) Advance(t *Token) {
	t.Gen++
	var raw [TokenRaw]byte
	t.raw(&raw)
	var out [sha256.Size]byte
	k.mac(&k.rotateMACs, &out, 0, raw[:], nil)
	copy(t.Secret[:], out[:])
	clear(raw[:])
	clear(out[:])
}

// EncodeID returns the base64url form of a digest (a public session id).
func EncodeID(d *Digest) string { return b64.EncodeToString(d[:]) }

// AppendID appends the 22-character base64url form of a digest.
func AppendID(dst []byte, d *Digest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, IDLength)...)
	b64.Encode(dst[start:], d[:])
	return dst
}

// IDLength is the length of an encoded session id.
const IDLength = 22

// DecodeID parses a public session id.
func DecodeID(s []byte) (Digest, bool) {
	var d Digest
	if len(s) != IDLength {
		return d, false
	}
	n, err := b64.Decode(d[:], s)
	return d, err == nil && n == len(d)
}
