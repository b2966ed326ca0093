package server

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// device answers DEVICE_CHALLENGE, DEVICE_REGISTER and DEVICE_REFRESH (device binding, DBSC):
// the rule is session's (device.go), the store applies it. They verify signatures (an RSA
// verification costs tens of microseconds), so they run on the workers, never inline.
func (s *Server) device(req *protocol.Request) ([]byte, error) {
	var rule session.DeviceRule
	switch req.Op {
	case protocol.OpDeviceRegister:
		rule = session.RegisterRule(req.Proof, req.Algs, req.LifetimeMs)
	case protocol.OpDeviceRefresh:
		rule = session.RefreshRule(req.Proof, req.LifetimeMs)
	default:
		rule = session.ChallengeRule()
	}
	res, err := s.backend.DeviceUpdate(session.Deadline(req.Deadline), req.Sandbox, req.Token, req.GraceMs, rule)
	if err != nil {
		return nil, err
	}
	if res.Status != session.OK {
		return notFound(req.ID), nil
	}
	if req.Op == protocol.OpDeviceChallenge {
		b := protocol.AppendStr(ok(req.ID, 2+len(res.Challenge)+2+crypto.IDLength+1), res.Challenge)
		b = appendID(b, &res.SessionID)
		return done(protocol.AppendU8(b, boolByte(res.Bound))), nil
	}
	b := appendID(ok(req.ID, 2+crypto.IDLength+8), &res.SessionID)
	return done(protocol.AppendI64(b, res.Deadline)), nil
}
