package dbsc

import (
	"crypto/rand"
	"crypto/subtle"
)

// ChallengeLen is the size of a challenge in bytes (128 random bits; 22 base64url characters).
const ChallengeLen = 16

// Challenges are a session's outstanding challenges: the newest and the one before it, so a
// refresh that raced a newer challenge (two tabs, a retried request) still succeeds. Each is
// accepted once and only within its lifetime. The zero value has none.
type Challenges struct {
	Cur, Prev     [ChallengeLen]byte
	CurAt, PrevAt int64 // issue times (unix ms); 0 = none, or used
}

// Issue makes a new challenge, keeps the previous one as the older outstanding one, and
// returns its wire form (base64url without padding).
func (c *Challenges) Issue(now int64) string {
	var v [ChallengeLen]byte
	_, _ = rand.Read(v[:]) // crypto/rand.Read never fails (Go 1.24)
	c.Prev, c.PrevAt = c.Cur, c.CurAt
	c.Cur, c.CurAt = v, now
	return b64.EncodeToString(v[:])
}

// Consume accepts jti once if it is an outstanding challenge issued less than ttlMs ago (and
// not in the future), and forgets it. Anything else is ErrChallenge: unknown, already used,
// expired, or not a challenge at all. The comparisons are constant-time.
func (c *Challenges) Consume(jti string, now, ttlMs int64) error {
	if len(jti) != b64.EncodedLen(ChallengeLen) {
		return ErrChallenge
	}
	v, err := b64.DecodeString(jti)
	if err != nil || len(v) != ChallengeLen {
		return ErrChallenge
	}
	live := func(at int64) bool { return at > 0 && at <= now && now-at < ttlMs }
	cur := subtle.ConstantTimeCompare(v, c.Cur[:]) == 1 && live(c.CurAt)
	prev := subtle.ConstantTimeCompare(v, c.Prev[:]) == 1 && live(c.PrevAt)
	switch {
	case cur:
		c.CurAt = 0
	case prev:
		c.PrevAt = 0
	default:
		return ErrChallenge
	}
	return nil
}

// Outstanding reports whether the newest challenge is still unused and live at now.
func (c *Challenges) Outstanding(now, ttlMs int64) bool {
	return c.CurAt > 0 && c.CurAt <= now && now-c.CurAt < ttlMs
}
