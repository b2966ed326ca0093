// Package dbsc verifies the proofs of Device Bound Session Credentials (W3C WebAppSec DBSC):
// the compact JWS a browser sends in `Secure-Session-Response`, signed by a key that never
// leaves the device. Standard library only (crypto/ecdsa P-256, crypto/rsa); every limit is
// checked before any work that grows with the input. It knows nothing about sessions: the
// session rule (internal/session) keeps the device key, the challenges and the proof deadline.
package dbsc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Limits of a proof, checked before decoding. A registration carries the device's public key
// in its header (an RSA-4096 JWK is about 750 bytes); a signature is at most 512 bytes.
const (
	MaxProofLen   = 4096 // the whole compact JWS, in characters
	MaxHeaderLen  = 1536 // the decoded header JSON, in bytes
	MaxPayloadLen = 1024 // the decoded payload JSON, in bytes
	MaxJtiLen     = 128  // the challenge echoed in `jti`
	// Typ is the JWS header `typ` DBSC requires.
	Typ = "dbsc+jwt"
)

// Errors of a refused proof. They say what was wrong in general terms only: never a key, a
// challenge or any part of the proof (they may reach logs and events).
var (
	ErrMalformed  = errors.New("dbsc: malformed proof")
	ErrTooLarge   = errors.New("dbsc: proof too large")
	ErrAlg        = errors.New("dbsc: algorithm not offered")
	ErrTyp        = errors.New("dbsc: wrong typ")
	ErrKey        = errors.New("dbsc: unusable key")
	ErrKeyMissing = errors.New("dbsc: jwk required at registration")
	ErrKeyPresent = errors.New("dbsc: jwk refused at refresh")
	ErrSignature  = errors.New("dbsc: bad signature")
	ErrChallenge  = errors.New("dbsc: unknown, used or expired challenge")
)

// Proof is a parsed, size-checked, not yet verified proof.
type Proof struct {
	Alg           Alg
	JWK           *Key   // the embedded device key; nil when the header has no jwk
	Jti           string // the challenge the browser answers
	Authorization string // the optional `authorization` claim (registration)
	signingInput  string // header "." payload, as received
	signature     []byte
}

type header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	JWK  json.RawMessage `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

type payload struct {
	Jti           *string `json:"jti"`
	Authorization *string `json:"authorization"`
}

var b64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes one base64url segment, without padding, refusing anything else
// (padding, the standard alphabet, whitespace, non-canonical trailing bits).
func decodeSegment(s string, max int) ([]byte, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, ErrTooLarge
	}
	if s == "" {
		return nil, ErrMalformed
	}
	out, err := b64.DecodeString(s)
	if err != nil {
		return nil, ErrMalformed
	}
	return out, nil
}

// Parse splits and decodes a compact JWS, checks its size, typ and algorithm against the
// offered set, and decodes the embedded key if there is one. It does not verify the
// signature (see VerifyRegistration, VerifyRefresh).
func Parse(jws string, offered AlgSet) (*Proof, error) {
	if len(jws) > MaxProofLen {
		return nil, ErrTooLarge
	}
	h64, rest, ok := strings.Cut(jws, ".")
	if !ok {
		return nil, ErrMalformed
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return nil, ErrMalformed
	}
	hb, err := decodeSegment(h64, MaxHeaderLen)
	if err != nil {
		return nil, err
	}
	pb, err := decodeSegment(p64, MaxPayloadLen)
	if err != nil {
		return nil, err
	}
	sig, err := decodeSegment(s64, maxSignatureLen)
	if err != nil {
		return nil, err
	}
	var h header
	if err := strictJSON(hb, &h); err != nil {
		return nil, err
	}
	if h.Crit != nil {
		return nil, ErrMalformed // no extension is understood, so none may be critical
	}
	if h.Typ != Typ {
		return nil, ErrTyp
	}
	alg, ok := parseAlg(h.Alg)
	if !ok || !offered.Has(alg) {
		return nil, ErrAlg
	}
	var p payload
	if err := strictJSON(pb, &p); err != nil {
		return nil, err
	}
	if p.Jti == nil || *p.Jti == "" || len(*p.Jti) > MaxJtiLen {
		return nil, ErrMalformed
	}
	proof := &Proof{Alg: alg, Jti: *p.Jti, signingInput: h64 + "." + p64, signature: sig}
	if p.Authorization != nil {
		proof.Authorization = *p.Authorization
	}
	if h.JWK != nil && string(h.JWK) != "null" {
		k, err := ParseJWK(h.JWK)
		if err != nil {
			return nil, err
		}
		if k.Alg != alg {
			return nil, ErrAlg // an RS256 header with an EC key, or the reverse
		}
		proof.JWK = k
	}
	return proof, nil
}

// strictJSON decodes one JSON object and nothing after it.
func strictJSON(b []byte, v any) error {
	if len(b) == 0 || b[0] != '{' {
		return ErrMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return ErrMalformed
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) != 0 {
		return ErrMalformed
	}
	return nil
}
