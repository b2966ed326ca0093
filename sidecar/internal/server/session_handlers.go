package server

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// The handlers of the session operations, called by run (dispatch.go). The rules they apply
// live in internal/session; the handlers encode the backend's results on the wire.

// sessionCreate answers S_CREATE: token, id, expiry, CSRF token and the sessions evicted by
// the per-user limit.
func (s *Server) sessionCreate(req *protocol.Request) ([]byte, error) {
	res, err := s.backend.SessionCreate(session.Deadline(req.Deadline), req.Sandbox, req.Value, session.CreateOptions{
		TTLMs: req.TTLMs, IdleMs: req.IdleMs, UserID: req.UserID, Meta: req.Meta,
		Remember:   req.CreateFlags&protocol.CreateRemember != 0,
		MaxPerUser: req.MaxPerUser, OnLimit: session.LimitPolicy(req.OnLimit),
		Bind: session.BindMode(req.BindMode), IP: req.IP, UserAgent: req.UserAgent,
	})
	if err != nil {
		return nil, err
	}
	b := protocol.AppendStrBytes(ok(req.ID, 2+crypto.TokenLength+2*(2+crypto.IDLength)+8+4+len(res.Evicted)*(2+crypto.IDLength)), res.Token[:])
	clear(res.Token[:])
	b = appendID(b, &res.SessionID)
	b = protocol.AppendI64(b, res.ExpiresAt)
	b = appendID(b, &res.CSRF)
	clear(res.CSRF[:])
	b = protocol.AppendU32(b, uint32(len(res.Evicted)))
	for i := range res.Evicted {
		b = appendID(b, &res.Evicted[i])
	}
	return done(b), nil
}

// sessionRegenerate answers S_REGENERATE: a new session (new id) in place of the presented one.
func (s *Server) sessionRegenerate(req *protocol.Request) ([]byte, error) {
	res, err := s.backend.SessionRegenerate(session.Deadline(req.Deadline), req.Sandbox, req.Token, req.GraceMs, req.Flags&protocol.RegenKeepData != 0, req.Value)
	if err != nil {
		return nil, err
	}
	if res.Status != session.OK {
		return notFound(req.ID), nil
	}
	b := protocol.AppendStrBytes(ok(req.ID, 2+crypto.TokenLength+3*(2+crypto.IDLength)+8+1), res.Token[:])
	clear(res.Token[:])
	b = appendID(b, &res.SessionID)
	b = protocol.AppendI64(b, res.ExpiresAt)
	b = appendID(b, &res.CSRF)
	clear(res.CSRF[:])
	b = protocol.AppendU8(b, res.Flags)
	return done(appendID(b, &res.OldID)), nil
}

// resolveFixed is the size of S_RESOLVE's reply fields before the data: str token, u8 rotated,
// i64 expiresAt, str sessionId, u32 data length.
const resolveFixed = 2 + crypto.TokenLength + 1 + 8 + 2 + crypto.IDLength + 4

// resolveTail is the largest size of the fields after the data: u8 sessionFlags, u8 mismatch,
// str csrfToken.
const resolveTail = 1 + 1 + 2 + crypto.IDLength

// sessionResolve answers S_RESOLVE. The data is opened straight into the reply after a reserved
// fixed-size region, which is filled in afterwards; the other fields follow the data.
func (s *Server) sessionResolve(req *protocol.Request) ([]byte, error) {
	b := ok(req.ID, resolveFixed+512+resolveTail)
	fixedAt := len(b)
	b = append(b, make([]byte, resolveFixed)...)
	res, err := s.backend.SessionResolve(session.Deadline(req.Deadline), req.Sandbox, req.Token, session.ResolveOptions{
		Rotate:       req.Flags&protocol.FlagRotate != 0,
		GraceMs:      req.GraceMs,
		MinRotateMs:  req.MinRotateMs,
		WantCSRF:     req.Flags&protocol.FlagWantCSRF != 0,
		CheckBinding: req.Flags&protocol.FlagCheckBinding != 0,
		OnMismatch:   session.MismatchAction(req.OnMismatch),
		IP:           req.IP,
		UserAgent:    req.UserAgent,
	}, b)
	if err != nil {
		return nil, err
	}
	if res.Status != session.OK {
		protocol.PutBuf(b)
	}
	switch res.Status {
	case session.NotFound:
		return notFound(req.ID), nil
	case session.Reused:
		r := protocol.BeginReply(protocol.GetBuf(9+2+crypto.IDLength), req.ID, protocol.StatusReused)
		return done(appendID(r, &res.SessionID)), nil
	case session.Mismatched:
		r := protocol.BeginReply(protocol.GetBuf(9+2+crypto.IDLength+2), req.ID, protocol.StatusMismatch)
		r = appendID(r, &res.SessionID)
		r = protocol.AppendU8(r, res.Mismatch)
		return done(protocol.AppendU8(r, boolByte(res.Revoked))), nil
	}
	b = res.Out
	f := b[fixedAt:fixedAt]
	f = protocol.AppendStrBytes(f, res.Token[:])
	clear(res.Token[:])
	f = protocol.AppendU8(f, boolByte(res.Rotated))
	f = protocol.AppendI64(f, res.ExpiresAt)
	f = appendID(f, &res.SessionID)
	protocol.AppendU32(f, uint32(len(b)-fixedAt-resolveFixed))
	b = protocol.AppendU8(b, res.Flags)
	b = protocol.AppendU8(b, res.Mismatch)
	if res.HasCSRF {
		b = appendID(b, &res.CSRF)
		clear(res.CSRF[:])
	} else {
		b = protocol.AppendU16(b, 0)
	}
	return done(b), nil
}

// sessionUpdate answers S_UPDATE with the new expiry; without the extension the grace is the default.
func (s *Server) sessionUpdate(req *protocol.Request) ([]byte, error) {
	grace := uint64(session.DefaultGraceMs)
	if req.HasExt {
		grace = req.GraceMs
	}
	exp, found, err := s.backend.SessionUpdate(session.Deadline(req.Deadline), req.Sandbox, req.Token, req.Value, grace)
	if err != nil {
		return nil, err
	}
	if !found {
		return notFound(req.ID), nil
	}
	return done(protocol.AppendI64(ok(req.ID, 8), exp)), nil
}

// sessionRevoke answers S_REVOKE: whether the session existed, and its id.
func (s *Server) sessionRevoke(req *protocol.Request) ([]byte, error) {
	sid, existed, err := s.backend.SessionRevoke(session.Deadline(req.Deadline), req.Sandbox, req.Token)
	if err != nil {
		return nil, err
	}
	b := protocol.AppendU8(ok(req.ID, 1+2+crypto.IDLength), boolByte(existed))
	if !existed {
		return done(protocol.AppendU16(b, 0)), nil
	}
	return done(appendID(b, &sid)), nil
}

// sessionList answers S_LIST: the user's live sessions.
func (s *Server) sessionList(req *protocol.Request) ([]byte, error) {
	list, err := s.backend.SessionList(req.Sandbox, req.UserID)
	if err != nil {
		return nil, err
	}
	size := 4
	for _, it := range list {
		size += 2 + crypto.IDLength + 24 + 4 + len(it.Meta) + 1
	}
	b := protocol.AppendU32(ok(req.ID, size), uint32(len(list)))
	for _, it := range list {
		b = appendID(b, &it.SessionID)
		b = protocol.AppendI64(b, it.CreatedAt)
		b = protocol.AppendI64(b, it.LastSeenAt)
		b = protocol.AppendI64(b, it.ExpiresAt)
		b = protocol.AppendBytes(b, it.Meta)
		b = protocol.AppendU8(b, boolByte(it.Device))
	}
	return done(b), nil
}

// sessionRevokeAll answers S_REVOKE_ALL with the ids of the revoked sessions.
func (s *Server) sessionRevokeAll(req *protocol.Request) ([]byte, error) {
	ids, err := s.backend.SessionRevokeAll(session.Deadline(req.Deadline), req.Sandbox, req.UserID, req.Token)
	if err != nil {
		return nil, err
	}
	b := protocol.AppendU32(ok(req.ID, 4+len(ids)*(2+crypto.IDLength)), uint32(len(ids)))
	for i := range ids {
		b = appendID(b, &ids[i])
	}
	return done(b), nil
}

// sessionRevokeID answers S_REVOKE_ID: whether the session existed.
func (s *Server) sessionRevokeID(req *protocol.Request) ([]byte, error) {
	existed, err := s.backend.SessionRevokeID(session.Deadline(req.Deadline), req.Sandbox, req.SessionID)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendU8(ok(req.ID, 1), boolByte(existed))), nil
}
