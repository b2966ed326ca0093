package session

import (
	"encoding/base64"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc"
)

// DeviceRule is one device operation's rule, applied by a backend's DeviceUpdate to the state
// of the session of a token it accepts, at time now. On nil the backend keeps st.Device; on an
// error nothing changes.
type DeviceRule func(st *State, now int64) error

// DeviceResult is what the device operations reply.
type DeviceResult struct {
	Status    Status // OK or NotFound
	SessionID key
	Challenge string // the newest outstanding challenge ("" if none)
	Bound     bool
	Deadline  int64
}

// DeviceResult is the result of a device rule applied to st, the session stored under id.
func (st *State) DeviceResult(id *key) DeviceResult {
	r := DeviceResult{Status: OK, SessionID: *id, Bound: st.Bound()}
	if d := st.Device; d != nil {
		r.Deadline = d.Deadline
		if d.Challenges.CurAt != 0 {
			r.Challenge = base64.RawURLEncoding.EncodeToString(d.Challenges.Cur[:])
		}
	}
	return r
}

// ChallengeRule issues a new challenge (DEVICE_CHALLENGE): for the registration after login,
// or for a refresh that came without a proof.
func ChallengeRule() DeviceRule {
	return func(st *State, now int64) error { st.IssueChallenge(now); return nil }
}

// RegisterRule verifies a registration proof (DEVICE_REGISTER).
func RegisterRule(proof []byte, algs uint8, lifetimeMs uint64) DeviceRule {
	return func(st *State, now int64) error {
		return st.Register(string(proof), dbsc.AlgSet(algs), lifetimeMs, now)
	}
}

// RefreshRule verifies a refresh proof (DEVICE_REFRESH).
func RefreshRule(proof []byte, lifetimeMs uint64) DeviceRule {
	return func(st *State, now int64) error { return st.Refresh(string(proof), lifetimeMs, now) }
}

// DeviceRefused logs a refused device proof (the general reason only: never the proof or a
// key).
func (m *Metrics) DeviceRefused(sandbox string, id *crypto.Digest, err error) {
	m.Log.Info("device proof refused", "sandbox", sandbox, "sessionId", crypto.EncodeID(id), "reason", err.Error())
}
