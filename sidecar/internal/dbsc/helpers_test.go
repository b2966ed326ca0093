package dbsc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
)

// A test device: a private key and its public JWK, as a browser would send it.
type device struct {
	alg string
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
}

var (
	rsaOnce sync.Once
	rsaKeys [2]*rsa.PrivateKey
)

func ecDevice(t testing.TB) *device {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &device{alg: "ES256", ec: k}
}

// rsaDevice returns one of two RSA-2048 keys generated once (generation is slow under load).
func rsaDevice(t testing.TB, i int) *device {
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return &device{alg: "RS256", rsa: rsaKeys[i]}
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (d *device) jwk() map[string]string {
	if d.ec != nil {
		x := make([]byte, 32)
		y := make([]byte, 32)
		d.ec.X.FillBytes(x)
		d.ec.Y.FillBytes(y)
		return map[string]string{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(y)}
	}
	return map[string]string{"kty": "RSA", "n": enc(d.rsa.N.Bytes()), "e": enc(big.NewInt(int64(d.rsa.E)).Bytes())}
}

func (d *device) publicKey(t testing.TB) *Key {
	raw, _ := json.Marshal(d.jwk())
	k, err := ParseJWK(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sign makes a compact JWS of header and payload with d's key (under d's own alg, whatever
// the header says, so tests can lie in the header).
func (d *device) sign(t testing.TB, hdr, pl map[string]any) string {
	hb, _ := json.Marshal(hdr)
	pb, _ := json.Marshal(pl)
	input := enc(hb) + "." + enc(pb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	if d.ec != nil {
		r, s, err := ecdsa.Sign(rand.Reader, d.ec, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	} else {
		var err error
		sig, err = rsa.SignPKCS1v15(rand.Reader, d.rsa, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
	}
	return input + "." + enc(sig)
}

// registration is a well-formed registration proof of d for challenge.
func (d *device) registration(t testing.TB, challenge string) string {
	return d.sign(t, map[string]any{"alg": d.alg, "typ": Typ, "jwk": d.jwk()}, map[string]any{"jti": challenge})
}

// refresh is a well-formed refresh proof of d for challenge.
func (d *device) refresh(t testing.TB, challenge string) string {
	return d.sign(t, map[string]any{"alg": d.alg, "typ": Typ}, map[string]any{"jti": challenge})
}
