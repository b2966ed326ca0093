package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// SessionUpdate replaces the data of the session of a current token, or of one it answers for
// (session.Verdict.Accepted, with graceMs). It counts as activity (slides the idle deadline)
// but never extends the absolute expiry, and it is not a presentation.
func (s *Store) SessionUpdate(dl session.Deadline, sandbox, token, data []byte, graceMs uint64) (int64, bool, error) {
	if err := session.CheckValue(data, s.maxValue, "data"); err != nil {
		return 0, false, err
	}
	if err := session.CheckGrace(graceMs); err != nil {
		return 0, false, err
	}
	sb, err := s.sandboxFor(sandbox)
	if err != nil {
		return 0, false, err
	}
	var exp int64
	err = s.do(func(ctx context.Context) error {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			x, ok, err := s.locateAccepted(ctx, sb, token, graceMs, false, false)
			if !ok || err != nil {
				return err
			}
			sealed, err := sealBytes(sb.keys, kindData, &x.k, data)
			if err != nil {
				return err
			}
			retry, gone, err := s.commit(ctx, dl, x, nil, sealed)
			if err != nil || gone {
				return err
			}
			if !retry {
				exp = x.st.ExpiresAt(x.now) // last seen is now
				return nil
			}
		}
		return xerr.New(xerr.Internal, "the session kept changing during the update; retry")
	})
	if err != nil || exp == 0 {
		return 0, false, err
	}
	return exp, true, nil
}
