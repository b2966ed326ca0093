package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc/dbsctest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

const (
	deviceLifetime = 10_000
	es256Only      = 1 // dbsc.Of(dbsc.ES256), as DEVICE_REGISTER's algs carry it
)

// DeviceOp runs a device rule on the session of token (grace 2 s).
func DeviceOp(s Backend, sb, token []byte, rule session.DeviceRule) (session.DeviceResult, error) {
	return s.DeviceUpdate(noDL, sb, token, 2000, rule)
}

// MustChallenge issues a challenge for the session of token.
func MustChallenge(t testing.TB, s Backend, sb, token []byte) string {
	t.Helper()
	r, err := DeviceOp(s, sb, token, session.ChallengeRule())
	if err != nil || r.Status != session.OK || len(r.Challenge) != 22 {
		t.Fatalf("challenge: %+v %v", r, err)
	}
	return r.Challenge
}

func wantCode(t testing.TB, what string, err error, code xerr.Code) {
	t.Helper()
	if ErrCode(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// DeviceBinding: the device rule of internal/session (device.go) on a backend: registration
// answers a single-use challenge once; rotation never moves the proof deadline; past it the
// session is refused but kept; only a refresh signed by the registered key moves it; a
// regeneration keeps the binding; S_LIST shows it; a revoked session has none.
func DeviceBinding(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		dev, thief := dbsctest.New(), dbsctest.New()
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("u1"), TTLMs: 3_600_000})
		tok := c.Token[:]

		_, err := DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh("x"), deviceLifetime))
		wantCode(t, "refresh before registration", err, xerr.DeviceNotBound)
		_, err = DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration("AAAAAAAAAAAAAAAAAAAAAA"), es256Only, deviceLifetime))
		wantCode(t, "registration without a challenge", err, xerr.DeviceProofRefused)

		ch := MustChallenge(t, s, sbA, tok)
		_, err = DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration(otherChallenge(ch)), es256Only, deviceLifetime))
		wantCode(t, "registration for another challenge", err, xerr.DeviceProofRefused)
		_, err = DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration(ch), 2 /* RS256 only */, deviceLifetime))
		wantCode(t, "registration with an algorithm not offered", err, xerr.DeviceProofRefused)
		reg, err := DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration(ch), es256Only, deviceLifetime))
		if err != nil || reg.Status != session.OK || !reg.Bound || reg.Deadline != clock.NowMs()+deviceLifetime || reg.SessionID != c.SessionID {
			t.Fatalf("registration: %+v %v", reg, err)
		}
		_, err = DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration(ch), es256Only, deviceLifetime))
		wantCode(t, "second registration", err, xerr.DeviceAlreadyBound)

		// Rotation keeps working but never moves the deadline.
		for i := 0; i < 3; i++ {
			clock.Advance(3000)
			r := Resolve(t, e.Open(), sbA, tok, true, 2000)
			if r.Status != session.OK || !r.Rotated || r.Flags&session.SessionFlagDeviceBound == 0 {
				t.Fatalf("resolve %d of a bound session: %+v", i, r)
			}
			tok = append([]byte(nil), r.Token[:]...)
		}
		clock.Advance(deviceLifetime - 9000) // exactly the deadline
		_, err = SessionResolve(s, sbA, tok, true, 2000, 0, nil)
		wantCode(t, "resolve at the deadline", err, xerr.DeviceProofOverdue)
		if list, _ := s.SessionList(sbA, []byte("u1")); len(list) != 1 || !list[0].Device {
			t.Fatalf("the overdue session was not kept, or not listed as bound: %+v", list)
		}

		// A refresh: signed by another key, refused; by the device, accepted once.
		ch = MustChallenge(t, s, sbA, tok)
		_, err = DeviceOp(s, sbA, tok, session.RefreshRule(thief.Refresh(ch), deviceLifetime))
		wantCode(t, "refresh signed by another key", err, xerr.DeviceProofRefused)
		_, err = DeviceOp(s, sbA, tok, session.RefreshRule(dev.Registration(ch), deviceLifetime))
		wantCode(t, "refresh carrying a jwk", err, xerr.DeviceProofRefused)
		proof := dev.Refresh(ch)
		ref, err := DeviceOp(s, sbA, tok, session.RefreshRule(proof, deviceLifetime))
		if err != nil || ref.Status != session.OK || ref.Deadline != clock.NowMs()+deviceLifetime {
			t.Fatalf("refresh: %+v %v", ref, err)
		}
		_, err = DeviceOp(s, sbA, tok, session.RefreshRule(proof, deviceLifetime))
		wantCode(t, "replayed refresh", err, xerr.DeviceProofRefused)
		if r := Resolve(t, s, sbA, tok, false, 2000); r.Status != session.OK {
			t.Fatalf("resolve after the refresh: %+v", r)
		}

		// Two outstanding challenges (a race): the older one still works; an expired one not.
		older := MustChallenge(t, s, sbA, tok)
		MustChallenge(t, s, sbA, tok)
		if _, err := DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh(older), deviceLifetime)); err != nil {
			t.Fatalf("refresh with the older outstanding challenge: %v", err)
		}
		stale := MustChallenge(t, s, sbA, tok)
		clock.Advance(session.ChallengeTTLMs)
		r, err := DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh(stale), deviceLifetime))
		wantCode(t, "refresh with an expired challenge", err, xerr.DeviceProofRefused)
		if r.Status != session.NotFound {
			t.Fatalf("a refused refresh answered %+v", r)
		}

		// Regeneration keeps the binding and the deadline (the same device, a new identity).
		ch = MustChallenge(t, s, sbA, tok)
		ref, err = DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh(ch), deviceLifetime))
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.SessionRegenerate(noDL, sbA, tok, 2000, true, nil, nil)
		if err != nil || g.Status != session.OK || g.Flags&session.SessionFlagDeviceBound == 0 {
			t.Fatalf("regenerate: %+v %v", g, err)
		}
		tok = g.Token[:]
		clock.Advance(deviceLifetime)
		_, err = SessionResolve(s, sbA, tok, true, 2000, 0, nil)
		wantCode(t, "regenerated session past the deadline", err, xerr.DeviceProofOverdue)
		ch = MustChallenge(t, e.Open(), sbA, tok)
		if _, err := DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh(ch), deviceLifetime)); err != nil {
			t.Fatalf("refresh of the regenerated session: %v", err)
		}

		// A revoked session has no device operations: NOT_FOUND (the browser is told to stop).
		if ok, err := SessionRevoke(s, sbA, tok); err != nil || !ok {
			t.Fatal("revoke", err)
		}
		if r, err := DeviceOp(s, sbA, tok, session.ChallengeRule()); err != nil || r.Status != session.NotFound {
			t.Fatalf("challenge for a revoked session: %+v %v", r, err)
		}

		// An unbound session is untouched by all this, and a pending challenge binds nothing.
		u := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 3_600_000})
		MustChallenge(t, s, sbA, u.Token[:])
		clock.Advance(deviceLifetime * 10)
		if r := Resolve(t, s, sbA, u.Token[:], true, 2000); r.Status != session.OK || r.Flags&session.SessionFlagDeviceBound != 0 {
			t.Fatalf("unbound session: %+v", r)
		}
	})
}

// DeviceTheft: reuse detection still ends a bound session, and its device operations then
// answer NOT_FOUND.
func DeviceTheft(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		dev := dbsctest.New()
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{})
		ch := MustChallenge(t, s, sbA, c.Token[:])
		if _, err := DeviceOp(s, sbA, c.Token[:], session.RegisterRule(dev.Registration(ch), es256Only, deviceLifetime)); err != nil {
			t.Fatal(err)
		}
		r1 := Resolve(t, s, sbA, c.Token[:], true, 2000)
		Resolve(t, s, sbA, r1.Token[:], true, 2000) // the successor is presented
		clock.Advance(5000)
		if r := Resolve(t, s, sbA, c.Token[:], true, 2000); r.Status != session.Reused {
			t.Fatalf("reuse not detected: %+v", r)
		}
		if r, err := DeviceOp(s, sbA, r1.Token[:], session.ChallengeRule()); err != nil || r.Status != session.NotFound {
			t.Fatalf("device op after reuse: %+v %v", r, err)
		}
	})
}

// DeviceOpsAreNotActivity: a device operation (the browser refreshing in the background) does
// not slide an idle timeout; only the session's own use does.
func DeviceOpsAreNotActivity(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		dev := dbsctest.New()
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{IdleMs: 10_000})
		ch := MustChallenge(t, s, sbA, c.Token[:])
		clock.Advance(9000)
		if _, err := DeviceOp(s, sbA, c.Token[:], session.RegisterRule(dev.Registration(ch), es256Only, deviceLifetime)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(1000)
		if r := Resolve(t, e.Open(), sbA, c.Token[:], false, 2000); r.Status != session.NotFound {
			t.Fatalf("the idle timeout was slid by a device operation: %+v", r)
		}
	})
}

// otherChallenge is a well-formed challenge that differs from ch in one character. (Changing
// the last character is not enough: 22 base64url characters of 16 bytes end in one of only
// four characters, so ch[:21]+"A" equals ch one time in four.)
func otherChallenge(ch string) string {
	c := byte('A')
	if ch[10] == 'A' {
		c = 'B'
	}
	return ch[:10] + string(c) + ch[11:]
}
