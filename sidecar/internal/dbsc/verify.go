package dbsc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
)

// VerifyRegistration checks a registration proof: it must embed the device key (jwk) and be
// signed by it with an offered algorithm. The caller then stores p.JWK with the session once
// it has consumed p.Jti from the session's outstanding challenges (Challenges.Consume).
func VerifyRegistration(jws string, offered AlgSet) (*Proof, error) {
	p, err := Parse(jws, offered)
	if err != nil {
		return nil, err
	}
	if p.JWK == nil {
		return nil, ErrKeyMissing
	}
	if err := p.verify(p.JWK); err != nil {
		return nil, err
	}
	return p, nil
}

// VerifyRefresh checks a refresh proof against the stored device key: no jwk in the header,
// the algorithm of the stored key, a valid signature. The caller then checks p.Jti against its
// outstanding challenges (Challenges.Consume).
func VerifyRefresh(jws string, key *Key) (*Proof, error) {
	if key == nil {
		return nil, ErrKey
	}
	p, err := Parse(jws, Of(key.Alg))
	if err != nil {
		return nil, err
	}
	if p.JWK != nil {
		return nil, ErrKeyPresent
	}
	if err := p.verify(key); err != nil {
		return nil, err
	}
	return p, nil
}

// verify checks the signature over the signing input as received.
func (p *Proof) verify(k *Key) error {
	if k.Alg != p.Alg {
		return ErrAlg
	}
	digest := sha256.Sum256([]byte(p.signingInput))
	switch k.Alg {
	case ES256:
		// JWS ES256 signatures are r||s, 32 bytes each (RFC 7518 3.4), never DER.
		if len(p.signature) != 64 {
			return ErrSignature
		}
		r := new(big.Int).SetBytes(p.signature[:32])
		s := new(big.Int).SetBytes(p.signature[32:])
		if !ecdsa.Verify(k.ec, digest[:], r, s) {
			return ErrSignature
		}
	case RS256:
		if len(p.signature) != k.rsa.Size() {
			return ErrSignature
		}
		if rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, digest[:], p.signature) != nil {
			return ErrSignature
		}
	default:
		return ErrAlg
	}
	return nil
}
