package dbsc

import (
	"errors"
	"strings"
	"testing"
)

const chal = "AAAAAAAAAAAAAAAAAAAAAA"

var both = Of(ES256, RS256)

func TestVerifyRegistration(t *testing.T) {
	es, es2 := ecDevice(t), ecDevice(t)
	rs, rs2 := rsaDevice(t, 0), rsaDevice(t, 1)
	pl := map[string]any{"jti": chal}
	flip := func(jws string) string { // flips a bit in the middle of the signature
		i := strings.LastIndexByte(jws, '.') + 10
		c := byte('A')
		if jws[i] == 'A' {
			c = 'B'
		}
		return jws[:i] + string(c) + jws[i+1:]
	}
	cases := []struct {
		name    string
		jws     string
		offered AlgSet
		want    error
	}{
		{"ES256", es.registration(t, chal), both, nil},
		{"RS256", rs.registration(t, chal), both, nil},
		{"ES256 only offered", es.registration(t, chal), Of(ES256), nil},
		{"forged ES256 signature", flip(es.registration(t, chal)), both, ErrSignature},
		{"forged RS256 signature", flip(rs.registration(t, chal)), both, ErrSignature},
		{"jwk of one key, signed by another (EC)", es2.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": es.jwk()}, pl), both, ErrSignature},
		{"jwk of one key, signed by another (RSA)", rs2.sign(t, map[string]any{"alg": "RS256", "typ": Typ, "jwk": rs.jwk()}, pl), both, ErrSignature},
		{"alg none", es.sign(t, map[string]any{"alg": "none", "typ": Typ, "jwk": es.jwk()}, pl), both, ErrAlg},
		{"alg none, empty signature", strings.TrimSuffix(es.registration(t, chal), es.registration(t, chal)[strings.LastIndexByte(es.registration(t, chal), '.'):]) + ".", both, ErrMalformed},
		{"alg HS256", es.sign(t, map[string]any{"alg": "HS256", "typ": Typ, "jwk": es.jwk()}, pl), both, ErrAlg},
		{"alg lower case", es.sign(t, map[string]any{"alg": "es256", "typ": Typ, "jwk": es.jwk()}, pl), both, ErrAlg},
		{"RS256 header with an EC key", es.sign(t, map[string]any{"alg": "RS256", "typ": Typ, "jwk": es.jwk()}, pl), both, ErrAlg},
		{"ES256 header with an RSA key", rs.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": rs.jwk()}, pl), both, ErrAlg},
		{"RS256 not offered", rs.registration(t, chal), Of(ES256), ErrAlg},
		{"nothing offered", es.registration(t, chal), 0, ErrAlg},
		{"missing jwk", es.refresh(t, chal), both, ErrKeyMissing},
		{"null jwk", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": nil}, pl), both, ErrKeyMissing},
		{"wrong typ", es.sign(t, map[string]any{"alg": "ES256", "typ": "JWT", "jwk": es.jwk()}, pl), both, ErrTyp},
		{"no typ", es.sign(t, map[string]any{"alg": "ES256", "jwk": es.jwk()}, pl), both, ErrTyp},
		{"crit header", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": es.jwk(), "crit": []string{"x"}}, pl), both, ErrMalformed},
		{"missing jti", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": es.jwk()}, map[string]any{"aud": "x"}), both, ErrMalformed},
		{"jti not a string", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": es.jwk()}, map[string]any{"jti": 5}), both, ErrMalformed},
		{"jti too long", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": es.jwk()}, map[string]any{"jti": strings.Repeat("a", MaxJtiLen+1)}), both, ErrMalformed},
		{"private jwk", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": with(es.jwk(), "d", "AAAA")}, pl), both, ErrKey},
		{"EC point off the curve", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": with(es.jwk(), "y", enc(make([]byte, 32)))}, pl), both, ErrKey},
		{"EC wrong curve", es.sign(t, map[string]any{"alg": "ES256", "typ": Typ, "jwk": with(es.jwk(), "crv", "P-384")}, pl), both, ErrKey},
		{"RSA 1024 bits", rs.sign(t, map[string]any{"alg": "RS256", "typ": Typ, "jwk": with(rs.jwk(), "n", enc(make1024()))}, pl), both, ErrKey},
		{"RSA even exponent", rs.sign(t, map[string]any{"alg": "RS256", "typ": Typ, "jwk": with(rs.jwk(), "e", "AAI")}, pl), both, ErrKey},
		{"RSA leading zero in n", rs.sign(t, map[string]any{"alg": "RS256", "typ": Typ, "jwk": with(rs.jwk(), "n", enc(append([]byte{0}, rs.rsa.N.Bytes()...)))}, pl), both, ErrKey},
		{"oversized", strings.Repeat("a", MaxProofLen+1), both, ErrTooLarge},
		{"oversized header", enc([]byte("{\"a\":\""+strings.Repeat("a", MaxHeaderLen)+"\"}")) + ".e30.AA", both, ErrTooLarge},
		{"empty", "", both, ErrMalformed},
		{"two segments", "e30.e30", both, ErrMalformed},
		{"four segments", "e30.e30.AA.AA", both, ErrMalformed},
		{"padding", strings.Replace(es.registration(t, chal), ".", "=.", 1), both, ErrMalformed},
		{"standard alphabet", "e30+.e30.AA", both, ErrMalformed},
		{"header not an object", enc([]byte("[]")) + ".e30.AA", both, ErrMalformed},
		{"trailing data after header", enc([]byte(`{"alg":"ES256","typ":"dbsc+jwt"} x`)) + ".e30.AA", both, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := VerifyRegistration(c.jws, c.offered)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err == nil && (p.JWK == nil || p.Jti != chal) {
				t.Fatalf("accepted proof without key or challenge: %+v", p)
			}
		})
	}
}

func TestVerifyRefresh(t *testing.T) {
	es, es2 := ecDevice(t), ecDevice(t)
	rs := rsaDevice(t, 0)
	esKey, rsKey := es.publicKey(t), rs.publicKey(t)
	cases := []struct {
		name string
		jws  string
		key  *Key
		want error
	}{
		{"ES256", es.refresh(t, chal), esKey, nil},
		{"RS256", rs.refresh(t, chal), rsKey, nil},
		{"signed by another key", es2.refresh(t, chal), esKey, ErrSignature},
		{"jwk at refresh", es.registration(t, chal), esKey, ErrKeyPresent},
		{"RS256 proof for an EC key", rs.refresh(t, chal), esKey, ErrAlg},
		{"ES256 proof for an RSA key", es.refresh(t, chal), rsKey, ErrAlg},
		{"RS256 header, EC signature", es.sign(t, map[string]any{"alg": "RS256", "typ": Typ}, map[string]any{"jti": chal}), esKey, ErrAlg},
		{"alg none", es.sign(t, map[string]any{"alg": "none", "typ": Typ}, map[string]any{"jti": chal}), esKey, ErrAlg},
		{"wrong typ", es.sign(t, map[string]any{"alg": "ES256", "typ": "jwt"}, map[string]any{"jti": chal}), esKey, ErrTyp},
		{"no key stored", es.refresh(t, chal), nil, ErrKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := VerifyRefresh(c.jws, c.key)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err == nil && p.Jti != chal {
				t.Fatalf("jti %q", p.Jti)
			}
		})
	}
}

// An ES256 signature in DER (what some libraries produce) is not a JWS signature.
func TestES256DERSignatureRefused(t *testing.T) {
	es := ecDevice(t)
	jws := es.refresh(t, chal)
	i := strings.LastIndexByte(jws, '.')
	der := append([]byte{0x30, 0x44, 0x02, 0x20}, make([]byte, 68)...)
	if _, err := VerifyRefresh(jws[:i+1]+enc(der), es.publicKey(t)); !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestKeyEncoding(t *testing.T) {
	for _, d := range []*device{ecDevice(t), rsaDevice(t, 0)} {
		k := d.publicKey(t)
		got, err := DecodeKey(k.Encode())
		if err != nil || !got.Equal(k) {
			t.Fatalf("%s: round trip: %v", d.alg, err)
		}
		// The decoded key verifies what the original key verifies.
		if _, err := VerifyRefresh(d.refresh(t, chal), got); err != nil {
			t.Fatalf("%s: %v", d.alg, err)
		}
	}
	bad := [][]byte{nil, {0}, {byte(ES256)}, append([]byte{byte(ES256)}, make([]byte, 64)...), {byte(RS256), 0, 0, 0, 3}, {9, 1, 2}}
	for _, b := range bad {
		if _, err := DecodeKey(b); !errors.Is(err, ErrKey) {
			t.Fatalf("DecodeKey(%x): %v", b, err)
		}
	}
}

func TestAlgSet(t *testing.T) {
	if !Of(ES256).Has(ES256) || Of(ES256).Has(RS256) || AlgSet(0xFF).Has(0) || AlgSet(0xFF).Has(3) {
		t.Fatal("AlgSet")
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func make1024() []byte {
	n := make([]byte, 128)
	n[0], n[127] = 0xC1, 0x01
	return n
}
