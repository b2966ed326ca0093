package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// The device part of a session (DBSC, session.Device) in Redis: the optional last part of the
// sealed header h, 'D' then the encoding of session.AppendDevice, so it is sealed with the
// session's state, read by the one header read every operation makes, and changed by the same
// compare-and-set. A header without it (every unbound session, and headers written before it)
// ends after the history.
const devicePartTag = 'D'

func devicePartSize(st *session.State) int {
	if st.Device == nil {
		return 0
	}
	return 1 + session.DeviceSize(st.Device)
}

// encodeDevicePart writes the device part into b (exactly devicePartSize bytes).
func encodeDevicePart(st *session.State, b []byte) {
	if st.Device != nil {
		b[0] = devicePartTag
		session.AppendDevice(b[1:1], st.Device)
	}
}

// decodeDevicePart reads what follows the history: nothing, or a device part.
func decodeDevicePart(st *session.State, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != devicePartTag {
		return false
	}
	d, ok := session.DecodeDevice(b[1:])
	st.Device = d
	return ok
}

// DeviceUpdate applies a device rule to the session of a token it accepts and writes the new
// header with a compare-and-set (retried if the session changed meanwhile); a rule that fails
// changes nothing.
func (s *Store) DeviceUpdate(dl session.Deadline, sandbox, token []byte, graceMs uint64, rule session.DeviceRule) (session.DeviceResult, error) {
	res := session.DeviceResult{Status: session.NotFound}
	if err := session.CheckGrace(graceMs); err != nil {
		return res, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return res, err
	}
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			x, ok, err := s.locateAccepted(ctx, sb, token, graceMs, false, false)
			if !ok || err != nil {
				return err
			}
			st := x.st
			if err := rule(&st, x.now); err != nil {
				s.m.DeviceRefused(sb.name, &x.k, err)
				return err
			}
			// Not a use of the session: the browser refreshes in the background, which must not
			// keep an idle session alive (the memory store leaves last seen alone too).
			retry, gone, err := s.commitSeen(ctx, dl, x, &st, "", x.lastSeen)
			if err != nil || gone {
				return err
			}
			if !retry {
				res = st.DeviceResult(&x.k)
				return nil
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the device operation; retry")
	})
	if err != nil {
		return session.DeviceResult{Status: session.NotFound}, err
	}
	return res, nil
}
