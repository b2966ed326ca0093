package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// SecretSize is the size of the vault secret (persistence.secret): exactly 256 bits.
const SecretSize = 32

// MaxIdentity bounds the machine identity bound into the key (a machine-id is 32 hex digits;
// an explicit { id } may be longer).
const MaxIdentity = 1024

const checkSize = 16

// Binding is what the vault key is bound to besides the secret: a machine identity, or none.
type Binding struct {
	Bound    bool
	Identity []byte // when Bound: /etc/machine-id, /var/lib/dbus/machine-id or an explicit id
}

// keyring holds the keys derived from the secret, the salt and the binding:
//
//	prk          = HKDF-Extract(SHA-256, ikm = secret, salt = header salt)
//	secretCheck  = HMAC(HKDF-Expand(prk, "xems/vault/v1/secret-check"), "xems vault secret check")[:16]
//	root         = HKDF-Expand(prk, "xems/vault/v1/root" || binding)
//	keyCheck     = HMAC(HKDF-Expand(root, "xems/vault/v1/key-check"), "xems vault key check")[:16]
//	journalMAC   = HKDF-Expand(root, "xems/vault/v1/journal-mac")
//	epochKey(e)  = HKDF-Expand(root, "xems/vault/v1/epoch" || u64be(e))   (AES-256-GCM)
//
// binding is 0x00 when unbound, else 0x01 || u16be(len) || identity, so an identity can never
// be confused with the unbound case or with another identity's prefix.
type keyring struct {
	secretCheck [checkSize]byte
	keyCheck    [checkSize]byte
	root        []byte
	journalMAC  []byte
}

func deriveKeys(secret, salt []byte, b Binding) (*keyring, error) {
	if len(secret) != SecretSize {
		return nil, errors.New("the vault secret must be exactly 32 bytes")
	}
	if b.Bound && (len(b.Identity) == 0 || len(b.Identity) > MaxIdentity) {
		return nil, errors.New("the machine identity must be 1..1024 bytes")
	}
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	kr := &keyring{}
	sc, err := hkdf.Expand(sha256.New, prk, "xems/vault/v1/secret-check", 32)
	if err != nil {
		return nil, err
	}
	copy(kr.secretCheck[:], mac(sc, []byte("xems vault secret check")))
	clear(sc)
	info := []byte("xems/vault/v1/root")
	if b.Bound {
		info = append(info, 1)
		info = binary.BigEndian.AppendUint16(info, uint16(len(b.Identity)))
		info = append(info, b.Identity...)
	} else {
		info = append(info, 0)
	}
	if kr.root, err = hkdf.Expand(sha256.New, prk, string(info), 32); err != nil {
		return nil, err
	}
	clear(info)
	kc, err := hkdf.Expand(sha256.New, kr.root, "xems/vault/v1/key-check", 32)
	if err != nil {
		return nil, err
	}
	copy(kr.keyCheck[:], mac(kc, []byte("xems vault key check")))
	clear(kc)
	if kr.journalMAC, err = hkdf.Expand(sha256.New, kr.root, "xems/vault/v1/journal-mac", 32); err != nil {
		return nil, err
	}
	return kr, nil
}

// epochAEAD returns the AES-256-GCM cipher of one epoch (a snapshot and the journal that
// follows it). A key per epoch keeps the number of random nonces under one key far below the
// AES-GCM limit: compaction starts a new epoch long before 2^32 entries.
func (kr *keyring) epochAEAD(epoch uint64) (cipher.AEAD, error) {
	info := binary.BigEndian.AppendUint64([]byte("xems/vault/v1/epoch"), epoch)
	k, err := hkdf.Expand(sha256.New, kr.root, string(info), 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (kr *keyring) wipe() {
	clear(kr.root)
	clear(kr.journalMAC)
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}
