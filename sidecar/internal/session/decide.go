package session

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"

// Outcome is what presenting a token to S_RESOLVE does to its session. The backend applies it
// atomically with the state it was decided on (or applies nothing, and decides again on the
// newer state).
type Outcome struct {
	Status   Status
	Mismatch uint8 // MismatchIP / MismatchAgent bits (Mismatched, or OK with the log action)
	// Remove: end the session (reuse, or a binding mismatch with the revoke action).
	Remove bool
	// Changed: the State changed (a first presentation, a rotation) and must be written.
	Changed bool
	Rotated bool
}

// Decide is the S_RESOLVE rule, in the order the checks run:
//
//  1. the token is classified (Classify): Invalid is NOT_FOUND and changes nothing; Reuse
//     ends the session (REUSED);
//  2. the binding, if asked to check it, before anything changes: a mismatch revokes (the
//     session ends), rejects (nothing changes) or is only reported, as OnMismatch says;
//  3. a device-bound session past its proof deadline is refused (DeviceOverdue), changing
//     nothing: the owner's browser refreshes the proof and comes back (device.go);
//  4. the current token's first presentation is recorded, and it rotates if the options say
//     so and it is old enough (MinRotateMs); an Unclaimed or InGrace token is answered with
//     the current token and changes nothing (only the current token ever rotates, so
//     concurrent requests with one token get one successor).
//
// st is updated in place; on OK, t holds the token to hand back.
func Decide(keys *crypto.SandboxKeys, st *State, t *crypto.Token, o *ResolveOptions, now int64) Outcome {
	v := Classify(keys, st, t, o.GraceMs, now)
	switch v {
	case Invalid:
		return Outcome{Status: NotFound}
	case Reuse:
		return Outcome{Status: Reused, Remove: true}
	}
	out := screen(keys, st, o.CheckBinding, o.OnMismatch, o.IP, o.UserAgent, now)
	if out.Status != OK {
		return out
	}
	if v == Current {
		out.Changed = st.present(now)
		if st.rotates(o, now) {
			st.rotate(keys, t, now)
			out.Changed, out.Rotated = true, true
		}
	}
	return out
}

// screen is the part of a presentation that changes nothing, shared by Decide (steps 2 and 3)
// and PeekDecide: the client binding when check is set, a mismatch doing what action says,
// then the device proof deadline. An OK outcome carries the mismatch bits of the log action.
func screen(keys *crypto.SandboxKeys, st *State, check bool, action MismatchAction, ip, userAgent []byte, now int64) Outcome {
	out := Outcome{Status: OK}
	if check {
		if m := st.Mismatch(keys, ip, userAgent); m != 0 {
			switch action {
			case MismatchRevoke:
				return Outcome{Status: Mismatched, Mismatch: m, Remove: true}
			case MismatchReject:
				return Outcome{Status: Mismatched, Mismatch: m}
			}
			out.Mismatch = m
		}
	}
	if st.deviceOverdue(now) {
		return Outcome{Status: DeviceOverdue}
	}
	return out
}
