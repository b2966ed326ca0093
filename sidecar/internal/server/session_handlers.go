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
		Auth: createAuth(req),
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
	s.announceEnded(req.Sandbox, protocol.EndedEvicted, res.Evicted...)
	for i := range res.Evicted {
		b = appendID(b, &res.Evicted[i])
	}
	return done(b), nil
}

// sessionRegenerate answers S_REGENERATE: a new session (new id) in place of the presented one.
func (s *Server) sessionRegenerate(req *protocol.Request) ([]byte, error) {
	var auth *session.Auth
	if req.HasExt {
		auth = &session.Auth{At: req.AuthAt, Methods: req.AuthMethods}
	}
	res, err := s.backend.SessionRegenerate(session.Deadline(req.Deadline), req.Sandbox, req.Token, req.GraceMs, req.Flags&protocol.RegenKeepData != 0, req.Value, auth)
	if err != nil {
		return nil, err
	}
	if res.Status != session.OK {
		return notFound(req.ID), nil
	}
	b := protocol.AppendStrBytes(ok(req.ID, 2+crypto.TokenLength+3*(2+crypto.IDLength)+8+1+session.AuthSize), res.Token[:])
	clear(res.Token[:])
	b = appendID(b, &res.SessionID)
	b = protocol.AppendI64(b, res.ExpiresAt)
	b = appendID(b, &res.CSRF)
	clear(res.CSRF[:])
	b = protocol.AppendU8(b, res.Flags)
	s.announceEnded(req.Sandbox, protocol.EndedRegenerated, res.OldID)
	b = appendID(b, &res.OldID)
	return done(appendAuth(b, res.Auth)), nil
}

// resolveFixed is the size of S_RESOLVE's reply fields before the data: str token, u8 rotated,
// i64 expiresAt, str sessionId, u32 data length.
const resolveFixed = 2 + crypto.TokenLength + 1 + 8 + 2 + crypto.IDLength + 4

// resolveTail is the largest size of the fields after the data: u8 sessionFlags, u8 mismatch,
// str csrfToken, i64 authAt, u32 authMethods.
const resolveTail = 1 + 1 + 2 + crypto.IDLength + session.AuthSize

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
		s.announceEnded(req.Sandbox, protocol.EndedReused, res.SessionID)
		r := protocol.BeginReply(protocol.GetBuf(9+2+crypto.IDLength), req.ID, protocol.StatusReused)
		return done(appendID(r, &res.SessionID)), nil
	case session.Mismatched:
		if res.Revoked {
			s.announceEnded(req.Sandbox, protocol.EndedBinding, res.SessionID)
		}
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
	return done(appendAuth(b, res.Auth)), nil
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
	s.announceEnded(req.Sandbox, protocol.EndedRevoked, sid)
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
		size += 2 + crypto.IDLength + 24 + 4 + len(it.Meta) + session.AuthSize + 1
	}
	b := protocol.AppendU32(ok(req.ID, size), uint32(len(list)))
	for _, it := range list {
		b = appendID(b, &it.SessionID)
		b = protocol.AppendI64(b, it.CreatedAt)
		b = protocol.AppendI64(b, it.LastSeenAt)
		b = protocol.AppendI64(b, it.ExpiresAt)
		b = protocol.AppendBytes(b, it.Meta)
		b = appendAuth(b, it.Auth)
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
	return s.revokedReply(req, ids), nil
}

// sessionRevokeID answers S_REVOKE_ID: whether the session existed.
func (s *Server) sessionRevokeID(req *protocol.Request) ([]byte, error) {
	existed, err := s.backend.SessionRevokeID(session.Deadline(req.Deadline), req.Sandbox, req.SessionID)
	if err != nil {
		return nil, err
	}
	if k, valid := crypto.DecodeID(req.SessionID); existed && valid {
		s.announceEnded(req.Sandbox, protocol.EndedRevoked, k)
	}
	return done(protocol.AppendU8(ok(req.ID, 1), boolByte(existed))), nil
}

// sessionPeek answers S_PEEK (by token) and S_PEEK_ID (by public id): the live session,
// changed in nothing (session.PeekResult).
func (s *Server) sessionPeek(req *protocol.Request) ([]byte, error) {
	var res session.PeekResult
	var err error
	byToken := req.Op == protocol.OpSPeek
	if byToken {
		res, err = s.backend.SessionPeek(req.Sandbox, req.Token, session.PeekOptions{
			GraceMs:      req.GraceMs,
			CheckBinding: req.Flags&protocol.PeekFlagCheckBinding != 0,
			OnMismatch:   session.MismatchAction(req.OnMismatch),
			IP:           req.IP,
			UserAgent:    req.UserAgent,
		}, nil)
	} else {
		res, err = s.backend.SessionPeekID(req.Sandbox, req.SessionID, nil)
	}
	if err != nil {
		return nil, err
	}
	switch res.Status {
	case session.OK:
	case session.Mismatched: // S_PEEK only: nothing was revoked, whatever the action
		r := protocol.BeginReply(protocol.GetBuf(9+2+crypto.IDLength+1), req.ID, protocol.StatusMismatch)
		return done(protocol.AppendU8(appendID(r, &res.SessionID), res.Mismatch)), nil
	default:
		return notFound(req.ID), nil
	}
	b := appendID(ok(req.ID, 2+crypto.IDLength+8+4+len(res.Data)+1+8+1), &res.SessionID)
	b = protocol.AppendI64(b, res.ExpiresAt)
	b = protocol.AppendBytes(b, res.Data)
	clear(res.Data)
	b = protocol.AppendU8(b, res.Flags)
	b = protocol.AppendI64(b, res.DeviceDeadline)
	if byToken {
		b = protocol.AppendU8(b, res.Mismatch)
	}
	return done(b), nil
}

// sessionRevokeSandbox answers S_REVOKE_SANDBOX with how many sessions it ended.
func (s *Server) sessionRevokeSandbox(req *protocol.Request) ([]byte, error) {
	n, err := s.backend.SessionRevokeSandbox(session.Deadline(req.Deadline), req.Sandbox)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendU64(ok(req.ID, 8), n)), nil
}

// sessionRevokeOthers answers S_REVOKE_OTHERS with the ids of the revoked sessions.
func (s *Server) sessionRevokeOthers(req *protocol.Request) ([]byte, error) {
	ids, err := s.backend.SessionRevokeOthers(session.Deadline(req.Deadline), req.Sandbox, req.Token)
	if err != nil {
		return nil, err
	}
	return s.revokedReply(req, ids), nil
}

// createAuth is the authentication record S_CREATE's extension carries (authAt 0: none).
func createAuth(req *protocol.Request) *session.Auth {
	if !req.HasExt || req.AuthAt == 0 {
		return nil
	}
	return &session.Auth{At: req.AuthAt, Methods: req.AuthMethods}
}

// appendAuth appends an authentication record as the replies carry it: authAt i64 (0 = none),
// authMethods u32.
func appendAuth(b []byte, a session.Auth) []byte {
	return protocol.AppendU32(protocol.AppendI64(b, a.At), a.Methods)
}

// revokedReply announces the sessions a revocation ended (other instances close their
// WebSockets) and answers their ids: u32 n, n x str sessionId.
func (s *Server) revokedReply(req *protocol.Request, ids []crypto.Digest) []byte {
	s.announceEnded(req.Sandbox, protocol.EndedRevoked, ids...)
	b := protocol.AppendU32(ok(req.ID, 4+len(ids)*(2+crypto.IDLength)), uint32(len(ids)))
	for i := range ids {
		b = appendID(b, &ids[i])
	}
	return done(b)
}
