package crypto

// Keyed hashes used by the session features (CSRF tokens and client binding). They use the
// sandbox's hash key like the other keyed hashes, separated from them by their own tags.
const (
	tagCSRF      = 'C' // HMAC(hash, "C" || sid): the session's CSRF token
	tagBindIP    = 'I' // HMAC(hash, "I" || normalised address): a bound client address
	tagBindAgent = 'A' // HMAC(hash, "A" || user agent): a bound user agent
)

// CSRFToken is the session's synchronizer token: HMAC(hashKey, "C" || sid). The sid is 128
// secret random bits that only ever leave the sidecar inside the session's tokens, so the CSRF
// token cannot be computed from the public session id; it is the same for every generation of
// the session (it survives rotation) and changes when the session is regenerated (new sid).
func (k *SandboxKeys) CSRFToken(sid *[SIDSize]byte) Digest { return k.digest(tagCSRF, sid[:], nil) }

// BindIP is the keyed hash of a normalised client address (see store's binding).
func (k *SandboxKeys) BindIP(normalised []byte) Digest { return k.digest(tagBindIP, normalised, nil) }

// BindAgent is the keyed hash of a user agent.
func (k *SandboxKeys) BindAgent(userAgent []byte) Digest {
	return k.digest(tagBindAgent, userAgent, nil)
}
