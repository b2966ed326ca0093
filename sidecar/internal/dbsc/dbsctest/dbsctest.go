// Package dbsctest is a software DBSC device for tests: a key pair and the proofs a browser
// would send (compact JWS, typ dbsc+jwt). Used only by tests.
package dbsctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// Device is an ES256 device key.
type Device struct{ key *ecdsa.PrivateKey }

// New makes a device with a fresh P-256 key.
func New() *Device {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Device{key: k}
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWK is the device's public key as a JWK.
func (d *Device) JWK() map[string]string {
	x, y := make([]byte, 32), make([]byte, 32)
	d.key.X.FillBytes(x)
	d.key.Y.FillBytes(y)
	return map[string]string{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(y)}
}

// Registration is the Secure-Session-Response of a registration answering challenge.
func (d *Device) Registration(challenge string) []byte {
	return d.Sign(map[string]any{"alg": "ES256", "typ": "dbsc+jwt", "jwk": d.JWK()}, map[string]any{"jti": challenge})
}

// Refresh is the Secure-Session-Response of a refresh answering challenge.
func (d *Device) Refresh(challenge string) []byte {
	return d.Sign(map[string]any{"alg": "ES256", "typ": "dbsc+jwt"}, map[string]any{"jti": challenge})
}

// Sign makes a compact JWS of header and payload with the device key (ES256, r||s).
func (d *Device) Sign(header, payload map[string]any) []byte {
	hb, _ := json.Marshal(header)
	pb, _ := json.Marshal(payload)
	input := enc(hb) + "." + enc(pb)
	digest := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, d.key, digest[:])
	if err != nil {
		panic(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sv.FillBytes(raw[32:])
	return []byte(input + "." + enc(raw))
}
