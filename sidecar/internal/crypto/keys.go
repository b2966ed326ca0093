// Package crypto holds the sidecar's key material and every cryptographic operation on it:
// HKDF derivation of per-sandbox keys, AES-256-GCM sealing of records, keyed hashes (HMAC-
// SHA256) of record keys, session ids, user ids and token verifiers, and the token format with
// its derived successor chain. See docs/sidecar-internals.md for the reasoning.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
)

// KeySize is the size of the master key and of every derived key (256 bits).
const KeySize = 32

// Master is the 256-bit master key. Every sandbox key derives from it.
type Master struct {
	mu      sync.Mutex
	key     []byte
	derived []*SandboxKeys // every key derived so far, wiped with the master
}

// NewMaster copies key (which must be KeySize bytes) or, when key is nil, draws a random one.
func NewMaster(key []byte) (*Master, error) {
	m := &Master{key: make([]byte, KeySize)}
	if key == nil {
		if _, err := rand.Read(m.key); err != nil {
			return nil, err
		}
		return m, nil
	}
	if len(key) != KeySize {
		return nil, errors.New("master key must be exactly 32 bytes")
	}
	copy(m.key, key)
	return m, nil
}

// Purpose labels: part of the HKDF info, so each key has a single use.
const (
	purposeEncrypt = "enc"
	purposeHash    = "hash"
	purposeRotate  = "rotate"
)

// Derive returns the keys of a sandbox: HKDF-SHA256(master, info = "xems/v1/<purpose>/<name>").
// Sandbox names cannot contain '/', so the info strings are unambiguous.
func (m *Master) Derive(sandbox string) (*SandboxKeys, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.key == nil {
		return nil, errors.New("master key wiped")
	}
	k := &SandboxKeys{name: sandbox}
	var err error
	if k.enc, err = hkdf.Key(sha256.New, m.key, nil, "xems/v1/"+purposeEncrypt+"/"+sandbox, KeySize); err != nil {
		return nil, err
	}
	if k.hash, err = hkdf.Key(sha256.New, m.key, nil, "xems/v1/"+purposeHash+"/"+sandbox, KeySize); err != nil {
		return nil, err
	}
	if k.rotate, err = hkdf.Key(sha256.New, m.key, nil, "xems/v1/"+purposeRotate+"/"+sandbox, KeySize); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.enc)
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	k.aad = makeAADPrefix(sandbox)
	k.hashMACs.New = func() any { return &macState{h: hmac.New(sha256.New, k.hash)} }
	k.rotateMACs.New = func() any { return &macState{h: hmac.New(sha256.New, k.rotate)} }
	m.derived = append(m.derived, k)
	return k, nil
}

// Wipe zeroes the master key and every derived key. Go's expanded AES key schedule and the
// precomputed HMAC pads live inside the standard library and cannot be reached; they go away
// with the process (which is non-dumpable on Linux). Keys derived afterwards fail.
func (m *Master) Wipe() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.key)
	m.key = nil
	for _, k := range m.derived {
		clear(k.enc)
		clear(k.hash)
		clear(k.rotate)
	}
}

// SandboxKeys are the keys of one sandbox. Safe for concurrent use.
type SandboxKeys struct {
	name       string
	enc        []byte
	hash       []byte
	rotate     []byte
	aead       cipher.AEAD
	aad        []byte // "xems1" || len(name) || name: the constant part of every record's AAD
	hashMACs   sync.Pool
	rotateMACs sync.Pool
}

// Digest is a truncated keyed hash: 128 bits, enough against collisions and guessing for
// map keys, ids and verifiers (the verifier is compared in constant time).
type Digest [16]byte

// Domain-separation tags for the hash key, which serves several purposes.
const (
	tagKVKey    = 'K'
	tagSID      = 'S'
	tagUser     = 'U'
	tagVerifier = 'V'
)

// macState is a pooled HMAC with heap-resident input and output buffers: hashing through the
// hash.Hash interface would otherwise move every stack buffer it is given to the heap.
type macState struct {
	h   hash.Hash
	in  [128]byte
	out [sha256.Size]byte
}

// mac computes HMAC(key of pool, tag || a || b) into out (no tag byte when tag is 0). Input is
// copied through the state's own buffer, so no caller buffer escapes to the heap.
func (k *SandboxKeys) mac(pool *sync.Pool, out *[sha256.Size]byte, tag byte, a, b []byte) {
	st := pool.Get().(*macState)
	n := 0
	if tag != 0 {
		st.in[0] = tag
		n = 1
	}
	for _, p := range [2][]byte{a, b} {
		for len(p) > 0 {
			c := copy(st.in[n:], p)
			p = p[c:]
			n += c
			if n == len(st.in) {
				st.h.Write(st.in[:n])
				n = 0
			}
		}
	}
	st.h.Write(st.in[:n])
	st.h.Sum(st.out[:0])
	*out = st.out
	// Leave nothing of the input or output behind in the pooled object. Reset restores the
	// precomputed pad state, which also overwrites the hash's buffered input.
	clear(st.in[:])
	clear(st.out[:])
	st.h.Reset()
	pool.Put(st)
}

func (k *SandboxKeys) digest(tag byte, a, b []byte) Digest {
	var full [sha256.Size]byte
	k.mac(&k.hashMACs, &full, tag, a, b)
	var d Digest
	copy(d[:], full[:])
	clear(full[:])
	return d
}

// KVKey is the map key of a KV record: HMAC(hashKey, "K" || name).
func (k *SandboxKeys) KVKey(name []byte) Digest { return k.digest(tagKVKey, name, nil) }

// UserKey is the index key of a user id: HMAC(hashKey, "U" || userId).
func (k *SandboxKeys) UserKey(userID []byte) Digest { return k.digest(tagUser, userID, nil) }

// SIDKey is the map key of a session and, base64url-encoded, its public session id:
// HMAC(hashKey, "S" || sid).
func (k *SandboxKeys) SIDKey(sid *[SIDSize]byte) Digest { return k.digest(tagSID, sid[:], nil) }
