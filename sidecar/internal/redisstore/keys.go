package redisstore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// SecretSize is the size of the shared secret every instance of a deployment is given.
const SecretSize = 32

// MaxIdentity bounds the deployment identity (hardwareBinding { id }) bound into the key.
const MaxIdentity = 1024

// checkSize is the size of each key check value.
const checkSize = 16

// Keys is what a sidecar derives from the shared secret and the deployment identity: the master
// key of the store (the per-sandbox keys derive from it exactly as in memory) and two check
// values that let a sidecar tell, before serving, whether it holds the same secret and the same
// identity as the instances that wrote the records already in Redis.
//
//	prk         = HKDF-Extract(SHA-256, ikm = secret, salt = "xems/redis/v1")
//	secretCheck = HMAC(HKDF-Expand(prk, "xems/redis/v1/secret-check"), "xems redis secret check")[:16]
//	master      = HKDF-Expand(prk, "xems/redis/v1/master" || binding)
//	keyCheck    = HMAC(HKDF-Expand(master, "xems/redis/v1/key-check"), "xems redis key check")[:16]
//
// binding is 0x00 without an identity, else 0x01 || u16be(len) || identity, so no identity can
// be confused with another's prefix or with none. No salt is random: every instance must
// derive the same keys from the same inputs (the secret carries the entropy).
type Keys struct {
	Master      []byte // 32 bytes; the caller wipes it once crypto.NewMaster has copied it
	SecretCheck [checkSize]byte
	KeyCheck    [checkSize]byte
}

// DeriveKeys derives the store's keys from the shared secret and the identity (nil: unbound).
func DeriveKeys(secret, identity []byte) (*Keys, error) {
	if len(secret) != SecretSize {
		return nil, errors.New("the shared secret must be exactly 32 bytes")
	}
	if identity != nil && (len(identity) == 0 || len(identity) > MaxIdentity) {
		return nil, errors.New("the identity must be 1..1024 bytes")
	}
	prk, err := hkdf.Extract(sha256.New, secret, []byte("xems/redis/v1"))
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	k := &Keys{}
	sc, err := hkdf.Expand(sha256.New, prk, "xems/redis/v1/secret-check", crypto.KeySize)
	if err != nil {
		return nil, err
	}
	copy(k.SecretCheck[:], mac(sc, "xems redis secret check"))
	clear(sc)
	info := []byte("xems/redis/v1/master")
	if identity != nil {
		info = append(info, 1)
		info = binary.BigEndian.AppendUint16(info, uint16(len(identity)))
		info = append(info, identity...)
	} else {
		info = append(info, 0)
	}
	k.Master, err = hkdf.Expand(sha256.New, prk, string(info), crypto.KeySize)
	clear(info)
	if err != nil {
		return nil, err
	}
	kc, err := hkdf.Expand(sha256.New, k.Master, "xems/redis/v1/key-check", crypto.KeySize)
	if err != nil {
		return nil, err
	}
	copy(k.KeyCheck[:], mac(kc, "xems redis key check"))
	clear(kc)
	return k, nil
}

// checkValue is what the store keeps under <prefix>keycheck: both checks, 32 bytes.
func (k *Keys) checkValue() []byte {
	return append(append([]byte(nil), k.SecretCheck[:]...), k.KeyCheck[:]...)
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
