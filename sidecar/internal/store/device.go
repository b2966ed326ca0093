package store

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// The device part of a session (DBSC, session.Device), in the memory store: sealed on its own
// (crypto.KindDevice, bound to the record key) and kept in the shard's dev map, for the few
// sessions that have one; the record's flagDevice says it is there, so an unbound session pays
// nothing, not even a map lookup. The part is replaced whole, never changed in place. In the
// vault's blob it is an optional part at the end: sealed || u16 len, before the last byte,
// which has blobDevice set (blobs written before have it clear and load as they are).
const (
	flagDevice uint8 = 64 // the shard's dev map has this session's device part
	blobDevice byte  = 0x40
)

// setDevice seals d for record k and keeps it, marking the record. Caller holds sh.mu.
func (sh *shard) setDevice(keys *crypto.SandboxKeys, k *key, r sessRec, d *session.Device) error {
	buf := crypto.NewSealBuffer(session.DeviceSize(d))
	session.AppendDevice(buf[crypto.NonceSize:crypto.NonceSize], d)
	sealed, err := keys.SealBuffer(buf, crypto.KindDevice, k)
	if err != nil {
		return err
	}
	sh.dev[*k] = sealed
	r.setFlag(flagDevice, true)
	return nil
}

// readDevice opens the device part of record k into st.Device. Caller holds sh.mu.
func (sh *shard) readDevice(keys *crypto.SandboxKeys, k *key, st *session.State) error {
	plain, err := keys.Open(nil, sh.dev[*k], crypto.KindDevice, k)
	if err != nil {
		return err
	}
	d, ok := session.DecodeDevice(plain)
	if !ok {
		return crypto.ErrMalformed()
	}
	st.Device = d
	return nil
}

// deviceBound reports whether record k holds a registered device key (S_LIST).
func (sh *shard) deviceBound(keys *crypto.SandboxKeys, k *key, r sessRec) bool {
	if r.flags()&flagDevice == 0 {
		return false
	}
	var st session.State
	return sh.readDevice(keys, k, &st) == nil && st.Bound()
}

// appendDevicePart appends a sealed device part and its u16 length (vault blob).
func appendDevicePart(dst, sealed []byte) []byte {
	dst = append(dst, sealed...)
	return binary.LittleEndian.AppendUint16(dst, uint16(len(sealed)))
}

// splitDevicePart splits b (blob without its last byte) into what precedes the device part
// and the sealed part.
func splitDevicePart(b []byte) (rest, sealed []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.LittleEndian.Uint16(b[len(b)-2:]))
	if n < crypto.Overhead || n > len(b)-2 {
		return nil, nil, false
	}
	end := len(b) - 2
	return b[:end-n], b[end-n : end], true
}

// devicePart returns a copy of the sealed device part of a blob, if it has one.
func devicePart(blob []byte) ([]byte, bool) {
	if len(blob) < 1 || blob[len(blob)-1]&(blobLayout|blobDevice) != blobLayout|blobDevice {
		return nil, false
	}
	_, sealed, ok := splitDevicePart(blob[:len(blob)-1])
	if !ok {
		return nil, false
	}
	return append([]byte(nil), sealed...), true
}

// DeviceUpdate applies a device rule (session.DeviceChallenge, DeviceRegister, DeviceRefresh)
// to the session of a token it accepts, under the record's shard lock, and keeps the device
// part the rule leaves, journaled; a rule that fails changes nothing.
func (s *Store) DeviceUpdate(dl session.Deadline, sandbox, token []byte, graceMs uint64, rule session.DeviceRule) (session.DeviceResult, error) {
	res := session.DeviceResult{Status: session.NotFound}
	if err := session.CheckGrace(graceMs); err != nil {
		return res, err
	}
	var f found
	if ok, err := s.locateLive(sandbox, token, graceMs, &f); !ok {
		return res, err
	}
	defer f.release()
	if err := rule(&f.st, f.now); err != nil {
		s.m.DeviceRefused(f.sb.name, &f.k, err)
		return res, err
	}
	if dl.Passed(f.now) {
		return res, session.ErrDeadline()
	}
	c := f.sb.track(f.sh, kindSess, &f.k)
	if err := f.sh.setDevice(f.sb.keys, &f.k, f.rec(), f.st.Device); err != nil {
		return res, err
	}
	if err := c.commit(); err != nil {
		return res, err
	}
	return f.st.DeviceResult(&f.k), nil
}
