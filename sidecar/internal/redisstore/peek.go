package redisstore

import (
	"context"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// SessionPeek answers S_PEEK: the session of a token session.Classify accepts with
// o.GraceMs and session.PeekDecide lets through, from one read and no write
// (session.PeekResult). A read needs no compare-and-set: nothing is decided on it that
// another sidecar could contradict, since a peek changes nothing.
func (s *Store) SessionPeek(sbName, token []byte, o session.PeekOptions, dst []byte) (session.PeekResult, error) {
	if err := o.Check(); err != nil {
		return session.PeekResult{Status: session.NotFound}, err
	}
	return s.peek(sbName, &o, dst, func(ctx context.Context, sb *sandbox) (*sess, bool, error) {
		return s.locateAccepted(ctx, sb, token, o.GraceMs, true, false)
	})
}

// SessionPeekID answers S_PEEK_ID: the live session with this public id, from one read.
func (s *Store) SessionPeekID(sbName, sessionID []byte, dst []byte) (session.PeekResult, error) {
	k, valid := crypto.DecodeID(sessionID)
	if !valid {
		return session.PeekResult{Status: session.NotFound}, nil
	}
	return s.peek(sbName, &session.PeekOptions{}, dst, func(ctx context.Context, sb *sandbox) (*sess, bool, error) {
		return s.read(ctx, sb, &k, true, false)
	})
}

// peek reads a session with find, applies session.PeekDecide and opens its data into dst.
func (s *Store) peek(sbName []byte, o *session.PeekOptions, dst []byte, find func(ctx context.Context, sb *sandbox) (*sess, bool, error)) (session.PeekResult, error) {
	res := session.PeekResult{Status: session.NotFound}
	sb, err := s.sandboxFor(sbName)
	if err != nil {
		return res, err
	}
	var x *sess
	var ok bool
	err = s.do(func(ctx context.Context) error {
		x, ok, err = find(ctx, sb)
		return err
	})
	if err != nil || !ok {
		return res, err
	}
	decided := session.PeekDecide(sb.keys, &x.st, o, x.now)
	if res, refused, err := s.m.Peeked(sb.name, &x.k, &decided, o); refused {
		return res, err
	}
	out, err := open(sb.keys, kindData, &x.k, x.data, dst)
	if err != nil {
		return res, err
	}
	return session.PeekResult{Status: session.OK, SessionID: x.k, ExpiresAt: x.expiresAt(), Out: out, Data: out[len(dst):], Flags: x.st.ReplyFlags(),
		DeviceDeadline: x.st.DeviceDeadline(), Mismatch: decided.Mismatch}, nil
}
