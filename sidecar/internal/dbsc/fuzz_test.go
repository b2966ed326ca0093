package dbsc

import (
	"testing"
)

// FuzzParse: any input is a proof or an error, never a panic, and an accepted registration
// really embeds a key of the algorithm it names.
func FuzzParse(f *testing.F) {
	es := ecDevice(f)
	rs := rsaDevice(f, 0)
	for _, s := range []string{es.registration(f, chal), rs.registration(f, chal), es.refresh(f, chal), "e30.e30.AA", "", "..", "a.b.c"} {
		f.Add(s)
	}
	esKey := es.publicKey(f)
	f.Fuzz(func(t *testing.T, jws string) {
		p, err := VerifyRegistration(jws, both)
		if err == nil && (p.JWK == nil || p.JWK.Alg != p.Alg || p.Jti == "") {
			t.Fatalf("accepted an inconsistent proof")
		}
		if p, err := VerifyRefresh(jws, esKey); err == nil && (p.JWK != nil || p.Alg != ES256) {
			t.Fatalf("accepted a refresh with a key or another algorithm")
		}
	})
}

// FuzzDecodeKey: the storage form of a key decodes or errs, and what decodes re-encodes to
// the same bytes.
func FuzzDecodeKey(f *testing.F) {
	f.Add(ecDevice(f).publicKey(f).Encode())
	f.Add(rsaDevice(f, 0).publicKey(f).Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeKey(b)
		if err != nil {
			return
		}
		back, err := DecodeKey(k.Encode())
		if err != nil || !back.Equal(k) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// FuzzParseJWK: any JSON is a key or an error.
func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"","y":""}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseJWK(b); err == nil && k.Encode() == nil {
			t.Fatal("key without encoding")
		}
	})
}
