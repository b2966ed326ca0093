package crypto

// tagLabel separates the sandbox label from the sandbox's other keyed hashes.
const tagLabel = 'N'

// Label is a keyed hash naming the sandbox without its name: HMAC(hashKey, "N"). The Redis
// backend (internal/redisstore) puts it in key names, so Redis never sees the sandbox's name and
// a deployment with another master key uses other key names.
func (k *SandboxKeys) Label() Digest { return k.digest(tagLabel, nil, nil) }
