package dbsc

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/binary"
	"math/big"
)

// RSA key sizes accepted: at least 2048 bits (weaker keys are refused), at most 4096 (a
// verification's cost grows with the modulus, and no browser uses more).
const (
	minRSABits = 2048
	maxRSABits = 4096
	// maxRSAExponent bounds e (browsers use 65537).
	maxRSAExponent = 1<<31 - 1
)

// Key is a device's public key: P-256 for ES256, RSA for RS256.
type Key struct {
	Alg Alg
	ec  *ecdsa.PublicKey
	rsa *rsa.PublicKey
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
}

// ParseJWK decodes the public JWK of a registration. A JWK carrying a private part is refused.
func ParseJWK(raw []byte) (*Key, error) {
	var j jwk
	if err := strictJSON(raw, &j); err != nil {
		return nil, ErrKey
	}
	if j.D != "" {
		return nil, ErrKey
	}
	switch j.Kty {
	case "EC":
		if j.Crv != "P-256" || j.N != "" || j.E != "" {
			return nil, ErrKey
		}
		x, err1 := decodeSegment(j.X, 32)
		y, err2 := decodeSegment(j.Y, 32)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, ErrKey
		}
		return ecKey(x, y)
	case "RSA":
		if j.Crv != "" || j.X != "" || j.Y != "" {
			return nil, ErrKey
		}
		n, err1 := decodeSegment(j.N, maxRSABits/8)
		e, err2 := decodeSegment(j.E, 4)
		if err1 != nil || err2 != nil {
			return nil, ErrKey
		}
		return rsaKey(n, e)
	}
	return nil, ErrKey
}

// ecKey builds a P-256 key from its coordinates, refusing a point not on the curve.
func ecKey(x, y []byte) (*Key, error) {
	point := make([]byte, 0, 65)
	point = append(append(append(point, 4), x...), y...)
	if _, err := ecdh.P256().NewPublicKey(point); err != nil {
		return nil, ErrKey // not on the curve, or the point at infinity
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	return &Key{Alg: ES256, ec: pub}, nil
}

// rsaKey builds an RSA key from big-endian n and e, minimal encodings only.
func rsaKey(n, e []byte) (*Key, error) {
	if len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 {
		return nil, ErrKey
	}
	var ev uint64
	for _, b := range e {
		ev = ev<<8 | uint64(b)
	}
	nb := new(big.Int).SetBytes(n)
	if bits := nb.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, ErrKey
	}
	if ev < 3 || ev > maxRSAExponent || ev%2 == 0 || nb.Bit(0) == 0 {
		return nil, ErrKey
	}
	return &Key{Alg: RS256, rsa: &rsa.PublicKey{N: nb, E: int(ev)}}, nil
}

// Encode returns the key's storage form: the alg byte, then x||y (ES256) or u32 e || n (RS256).
// The session rule keeps it sealed with the session.
func (k *Key) Encode() []byte {
	switch k.Alg {
	case ES256:
		out := make([]byte, 65)
		out[0] = byte(ES256)
		k.ec.X.FillBytes(out[1:33])
		k.ec.Y.FillBytes(out[33:65])
		return out
	case RS256:
		n := k.rsa.N.Bytes()
		out := make([]byte, 5, 5+len(n))
		out[0] = byte(RS256)
		binary.BigEndian.PutUint32(out[1:5], uint32(k.rsa.E))
		return append(out, n...)
	}
	return nil
}

// DecodeKey reads a key written by Encode, with the same checks as a JWK.
func DecodeKey(b []byte) (*Key, error) {
	if len(b) < 1 {
		return nil, ErrKey
	}
	switch Alg(b[0]) {
	case ES256:
		if len(b) != 65 {
			return nil, ErrKey
		}
		return ecKey(b[1:33], b[33:65])
	case RS256:
		if len(b) < 5 || len(b) > 5+maxRSABits/8 {
			return nil, ErrKey
		}
		e := b[1:5]
		for len(e) > 1 && e[0] == 0 {
			e = e[1:]
		}
		return rsaKey(b[5:], e)
	}
	return nil, ErrKey
}

// Equal reports whether two keys are the same public key.
func (k *Key) Equal(o *Key) bool {
	if k == nil || o == nil || k.Alg != o.Alg {
		return false
	}
	if k.Alg == ES256 {
		return k.ec.Equal(o.ec)
	}
	return k.rsa.Equal(o.rsa)
}
