package session

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Device binding (DBSC): a session may hold a device's public key and a proof deadline. The
// rule, for every backend: a request after the deadline is refused (DEVICE_PROOF_OVERDUE) and
// changes nothing, so the session is kept for its owner, whose browser refreshes; rotation
// never moves the deadline; only a verified proof does (registration or refresh), to now plus
// the bound-cookie lifetime. A cookie copied off the device therefore stops working at most one
// lifetime after the owner's last proof, whether or not the owner comes back.

// ChallengeTTLMs is how long a challenge may be answered: the browser answers at once, so a
// short window is enough and a leaked challenge is of little use.
const ChallengeTTLMs = 120_000

// MaxDeviceLifetimeMs bounds the bound-cookie lifetime (a day: binding is about minutes).
const MaxDeviceLifetimeMs = 86_400_000

// SessionFlagDeviceBound (reply sessionFlags): the session holds a registered device key.
const SessionFlagDeviceBound uint8 = 4

// Device is the device part of a session: nil while nothing was asked of the device.
type Device struct {
	Key        []byte // dbsc.Key storage form; nil until the registration is verified
	Deadline   int64  // the proof deadline (Unix ms); 0 until registered
	Challenges dbsc.Challenges
}

// Bound reports whether the session holds a registered device key.
func (st *State) Bound() bool { return st.Device != nil && len(st.Device.Key) > 0 }

// DeviceDeadline is the proof deadline of a bound session, 0 for any other.
func (st *State) DeviceDeadline() int64 {
	if !st.Bound() {
		return 0
	}
	return st.Device.Deadline
}

// deviceOverdue is the resolve-time check: a bound session past its proof deadline.
func (st *State) deviceOverdue(now int64) bool { return st.Bound() && now >= st.Device.Deadline }

// ErrDeviceOverdue is the reply of a request on a bound session past its proof deadline.
func ErrDeviceOverdue() error {
	return xerr.New(xerr.DeviceProofOverdue, "the device proof is overdue: the browser must refresh the bound session")
}

// IssueChallenge gives the session a new outstanding challenge (registration or refresh).
func (st *State) IssueChallenge(now int64) string {
	if st.Device == nil {
		st.Device = &Device{}
	}
	return st.Device.Challenges.Issue(now)
}

// Register verifies a registration proof and binds the device key to the session, with the
// deadline now + lifetimeMs. A session binds one device once: a second registration is
// refused (the key never changes, or a thief with a challenge could replace it).
func (st *State) Register(proof string, offered dbsc.AlgSet, lifetimeMs uint64, now int64) error {
	if err := CheckDeviceLifetime(lifetimeMs); err != nil {
		return err
	}
	if st.Bound() {
		return xerr.New(xerr.DeviceAlreadyBound, "the session is already bound to a device")
	}
	if st.Device == nil {
		return refused(dbsc.ErrChallenge)
	}
	p, err := dbsc.VerifyRegistration(proof, offered)
	if err != nil {
		return refused(err)
	}
	if err := st.Device.Challenges.Consume(p.Jti, now, ChallengeTTLMs); err != nil {
		return refused(err)
	}
	st.Device.Key = p.JWK.Encode()
	st.Device.Deadline = now + int64(lifetimeMs)
	return nil
}

// Refresh verifies a refresh proof with the stored key and moves the deadline to
// now + lifetimeMs. The challenge is consumed only by a proof whose signature verifies.
func (st *State) Refresh(proof string, lifetimeMs uint64, now int64) error {
	if err := CheckDeviceLifetime(lifetimeMs); err != nil {
		return err
	}
	if !st.Bound() {
		return xerr.New(xerr.DeviceNotBound, "the session is not bound to a device")
	}
	k, err := dbsc.DecodeKey(st.Device.Key)
	if err != nil {
		return xerr.New(xerr.Internal, "stored device key unreadable")
	}
	p, err := dbsc.VerifyRefresh(proof, k)
	if err != nil {
		return refused(err)
	}
	if err := st.Device.Challenges.Consume(p.Jti, now, ChallengeTTLMs); err != nil {
		return refused(err)
	}
	st.Device.Deadline = now + int64(lifetimeMs)
	return nil
}

// refused is DEVICE_PROOF_REFUSED with the general reason (never the proof or a key).
func refused(err error) error {
	return xerr.New(xerr.DeviceProofRefused, "%s", err.Error())
}

// CheckDeviceLifetime checks a bound-cookie lifetime: 1 s to MaxDeviceLifetimeMs.
func CheckDeviceLifetime(ms uint64) error {
	if ms < 1000 || ms > MaxDeviceLifetimeMs {
		return xerr.New(xerr.BadRequest, "device lifetime must be 1000..%d ms, got %d", MaxDeviceLifetimeMs, ms)
	}
	return nil
}

// Device part encoding, the same for every backend (each seals it with the session):
// version u8 (1), deadline i64, current challenge [16], its issue time i64, previous
// challenge [16], its issue time i64, u16 key length, key.
const (
	deviceVersion = 1
	deviceFixed   = 1 + 8 + 2*(dbsc.ChallengeLen+8) + 2
	maxDeviceKey  = 1024
)

// AppendDevice appends the encoding of d to b.
func AppendDevice(b []byte, d *Device) []byte {
	b = append(b, deviceVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Deadline))
	b = append(b, d.Challenges.Cur[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Challenges.CurAt))
	b = append(b, d.Challenges.Prev[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Challenges.PrevAt))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(d.Key)))
	return append(b, d.Key...)
}

// DeviceSize is the length of AppendDevice's encoding of d.
func DeviceSize(d *Device) int { return deviceFixed + len(d.Key) }

// DecodeDevice reads an encoding of AppendDevice (exactly, nothing after it).
func DecodeDevice(b []byte) (*Device, bool) {
	if len(b) < deviceFixed || b[0] != deviceVersion {
		return nil, false
	}
	d := &Device{Deadline: int64(binary.LittleEndian.Uint64(b[1:]))}
	o := 9
	o += copy(d.Challenges.Cur[:], b[o:])
	d.Challenges.CurAt = int64(binary.LittleEndian.Uint64(b[o:]))
	o += 8
	o += copy(d.Challenges.Prev[:], b[o:])
	d.Challenges.PrevAt = int64(binary.LittleEndian.Uint64(b[o:]))
	o += 8
	n := int(binary.LittleEndian.Uint16(b[o:]))
	o += 2
	if n > maxDeviceKey || len(b) != o+n {
		return nil, false
	}
	if n > 0 {
		d.Key = append([]byte(nil), b[o:]...)
	}
	return d, true
}
