package crypto

import (
	"bytes"
	"strings"
	"testing"
)

func testKeys(t *testing.T, master byte, sandbox string) *SandboxKeys {
	t.Helper()
	m, err := NewMaster(bytes.Repeat([]byte{master}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Derive(sandbox)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewMasterRejectsWrongSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewMaster(make([]byte, n)); err == nil {
			t.Errorf("NewMaster(%d bytes) accepted", n)
		}
	}
	a, _ := NewMaster(nil)
	b, _ := NewMaster(nil)
	if bytes.Equal(a.key, b.key) || bytes.Equal(a.key, make([]byte, KeySize)) {
		t.Fatal("random master keys are not random")
	}
}

func TestDerivationIsDeterministicAndSeparated(t *testing.T) {
	a1 := testKeys(t, 1, "a")
	a2 := testKeys(t, 1, "a")
	b := testKeys(t, 1, "b")
	other := testKeys(t, 2, "a")
	if !bytes.Equal(a1.enc, a2.enc) || !bytes.Equal(a1.hash, a2.hash) || !bytes.Equal(a1.rotate, a2.rotate) {
		t.Fatal("same master and sandbox must derive the same keys")
	}
	for name, k := range map[string]*SandboxKeys{"other sandbox": b, "other master": other} {
		if bytes.Equal(a1.enc, k.enc) || bytes.Equal(a1.hash, k.hash) || bytes.Equal(a1.rotate, k.rotate) {
			t.Errorf("%s derived a shared key", name)
		}
	}
	if bytes.Equal(a1.enc, a1.hash) || bytes.Equal(a1.hash, a1.rotate) || bytes.Equal(a1.enc, a1.rotate) {
		t.Fatal("purposes must derive different keys")
	}
	if a1.KVKey([]byte("x")) == b.KVKey([]byte("x")) {
		t.Fatal("keyed hashes must differ between sandboxes")
	}
	// Domain separation: the same bytes hashed for two purposes differ.
	var sid [SIDSize]byte
	copy(sid[:], "0123456789abcdef")
	if a1.SIDKey(&sid) == a1.KVKey(sid[:]) || a1.UserKey(sid[:]) == a1.KVKey(sid[:]) {
		t.Fatal("hash purposes are not domain-separated")
	}
}

func TestWipe(t *testing.T) {
	m, _ := NewMaster(bytes.Repeat([]byte{7}, KeySize))
	k, _ := m.Derive("s")
	m.Wipe()
	if m.key != nil {
		t.Fatal("master key not dropped")
	}
	for _, b := range [][]byte{k.enc, k.hash, k.rotate} {
		if !bytes.Equal(b, make([]byte, KeySize)) {
			t.Fatal("derived key not zeroed")
		}
	}
	if _, err := m.Derive("t"); err == nil {
		t.Fatal("Derive after Wipe must fail")
	}
}

func TestSealOpenAndTamper(t *testing.T) {
	k := testKeys(t, 1, "s")
	rk := k.KVKey([]byte("name"))
	pt := []byte("the plaintext of a record")
	buf := NewSealBuffer(len(pt))
	copy(buf[NonceSize:], pt)
	sealed, err := k.SealBuffer(buf, KindKV, &rk)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != SealedSize(len(pt)) || bytes.Contains(sealed, pt) {
		t.Fatal("sealed record has the wrong size or shows its plaintext")
	}
	got, err := k.Open(nil, sealed, KindKV, &rk)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Flipping any bit of any byte makes it fail.
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(sealed)
			c[i] ^= 1 << bit
			if _, err := k.Open(nil, c, KindKV, &rk); err == nil {
				t.Fatalf("flipped byte %d bit %d and it still opened", i, bit)
			}
		}
	}
	// Truncated or extended records fail.
	for _, c := range [][]byte{sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0), sealed[:Overhead-1], nil} {
		if _, err := k.Open(nil, c, KindKV, &rk); err == nil {
			t.Fatal("a truncated or extended record opened")
		}
	}
	// Another kind, another record key or another sandbox fail.
	otherKey := k.KVKey([]byte("other"))
	if _, err := k.Open(nil, sealed, KindSession, &rk); err == nil {
		t.Fatal("opened as another kind")
	}
	if _, err := k.Open(nil, sealed, KindKV, &otherKey); err == nil {
		t.Fatal("opened under another record key")
	}
	if _, err := testKeys(t, 1, "other").Open(nil, sealed, KindKV, &rk); err == nil {
		t.Fatal("opened in another sandbox")
	}
	// Fresh nonces: sealing the same plaintext twice differs.
	buf2 := NewSealBuffer(len(pt))
	copy(buf2[NonceSize:], pt)
	sealed2, _ := k.SealBuffer(buf2, KindKV, &rk)
	if bytes.Equal(sealed[:NonceSize], sealed2[:NonceSize]) {
		t.Fatal("nonce reused")
	}
}

func TestTokenFormat(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tok.Gen = 0x01020304
	enc := tok.AppendEncoded(nil)
	if len(enc) != TokenLength {
		t.Fatalf("token length %d", len(enc))
	}
	for _, c := range enc {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("token has character %q", c)
		}
	}
	back, ok := ParseToken(enc)
	if !ok || back != tok {
		t.Fatal("token did not round-trip")
	}
	bad := map[string]string{
		"empty":           "",
		"short":           string(enc[:69]),
		"long":            string(enc) + "A",
		"padding":         string(enc[:68]) + "==",
		"std alphabet":    strings.Replace(string(enc[:69]), string(enc[0]), "+", 1) + string(enc[69]),
		"space":           " " + string(enc[1:]),
		"non-canonical":   string(enc[:69]) + nonCanonical(enc[69]),
		"non-ascii bytes": string(enc[:68]) + "é",
	}
	for name, s := range bad {
		if _, ok := ParseToken([]byte(s)); ok {
			t.Errorf("%s: ParseToken accepted %q", name, s)
		}
	}
}

// nonCanonical returns a last character that encodes the same bits plus a non-zero padding bit.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|1])
}

func TestAdvanceChainAndVerifier(t *testing.T) {
	k := testKeys(t, 1, "s")
	t0, _ := NewToken()
	t1 := t0
	k.Advance(&t1)
	if t1.Gen != 1 || t1.SID != t0.SID || t1.Secret == t0.Secret {
		t.Fatal("Advance must bump gen, keep sid, change secret")
	}
	again := t0
	k.Advance(&again)
	if again != t1 {
		t.Fatal("Advance must be deterministic")
	}
	if other := testKeys(t, 1, "other"); true {
		x := t0
		other.Advance(&x)
		if x.Secret == t1.Secret {
			t.Fatal("successor secrets must depend on the sandbox rotate key")
		}
	}
	v0, v1 := k.Verifier(&t0), k.Verifier(&t1)
	if VerifierEqual(&v0, &v1) {
		t.Fatal("verifiers of two generations are equal")
	}
	forged := t1
	forged.Secret[0] ^= 1
	if vf := k.Verifier(&forged); VerifierEqual(&vf, &v1) {
		t.Fatal("verifier ignores the secret")
	}
	id := k.SIDKey(&t0.SID)
	enc := AppendID(nil, &id)
	if string(enc) != EncodeID(&id) || len(enc) != IDLength {
		t.Fatal("id encodings differ")
	}
	if back, ok := DecodeID(enc); !ok || back != id {
		t.Fatal("id did not round-trip")
	}
	if _, ok := DecodeID(enc[:21]); ok {
		t.Fatal("short id accepted")
	}
}
