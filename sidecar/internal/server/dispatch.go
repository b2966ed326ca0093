package server

import (
	"errors"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// debugOp, when set (by a test-only build tag), handles an op outside the protocol table.
var debugOp func(req []byte) ([]byte, bool)

// dispatch decodes and runs one request and returns its reply frame.
func (s *Server) dispatch(payload []byte) []byte {
	if debugOp != nil {
		if reply, handled := debugOp(payload); handled {
			return reply
		}
	}
	var req protocol.Request
	if err := protocol.DecodeRequest(payload, &req); err != nil {
		return errorReply(req.ID, err)
	}
	s.ops[req.Op].Add(1)
	if err := s.checkDeadline(&req); err != nil {
		return errorReply(req.ID, err)
	}
	reply, err := s.run(&req)
	if err != nil {
		return errorReply(req.ID, err)
	}
	if len(reply)-4 > int(s.cfg.MaxFrameSize) {
		clear(reply)
		return protocol.ErrorReply(req.ID, xerr.ValueTooLarge, "the reply would exceed maxFrameSize: ask for less (smaller limit, fewer sessions)")
	}
	return reply
}

// run calls the handler of req.Op: PING here, STATS in stats.go, the key-value operations in
// kv_handlers.go, the session operations in session_handlers.go. A new operation is an entry
// in scripts/protocol-table.js, a case here and its handler.
func (s *Server) run(req *protocol.Request) ([]byte, error) {
	switch req.Op {
	case protocol.OpPing:
		return s.ping(req)
	case protocol.OpStats:
		return s.statsReply(req)
	case protocol.OpKVSet:
		return s.kvSet(req)
	case protocol.OpKVGet:
		return s.kvGet(req)
	case protocol.OpKVDel:
		return s.kvDel(req)
	case protocol.OpKVHas:
		return s.kvHas(req)
	case protocol.OpKVTTL:
		return s.kvTTL(req)
	case protocol.OpKVTouch:
		return s.kvTouch(req)
	case protocol.OpKVScan:
		return s.kvScan(req)
	case protocol.OpClear:
		return s.clearSandbox(req)
	case protocol.OpSCreate:
		return s.sessionCreate(req)
	case protocol.OpSRegen:
		return s.sessionRegenerate(req)
	case protocol.OpSResolve:
		return s.sessionResolve(req)
	case protocol.OpSUpdate:
		return s.sessionUpdate(req)
	case protocol.OpSRevoke:
		return s.sessionRevoke(req)
	case protocol.OpSList:
		return s.sessionList(req)
	case protocol.OpSRevokeAll:
		return s.sessionRevokeAll(req)
	case protocol.OpSRevokeID:
		return s.sessionRevokeID(req)
	case protocol.OpSPeek, protocol.OpSPeekID:
		return s.sessionPeek(req)
	case protocol.OpSRevokeSandbox:
		return s.sessionRevokeSandbox(req)
	case protocol.OpSRevokeOthers:
		return s.sessionRevokeOthers(req)
	case protocol.OpDeviceChallenge, protocol.OpDeviceRegister, protocol.OpDeviceRefresh:
		return s.device(req)
	}
	return nil, xerr.New(xerr.UnknownOp, "unknown op 0x%02x", uint8(req.Op))
}

// ping answers PING: the sidecar is up (and, with the shared store, Redis answers).
func (s *Server) ping(req *protocol.Request) ([]byte, error) {
	if s.redis != nil {
		// With the shared store, a health check must see Redis too (backend.go).
		if err := s.redis.Ping(); err != nil {
			return nil, err
		}
	}
	return done(ok(req.ID, 0)), nil
}

// errorReply answers a failed request: its XemsError code and message, or INTERNAL for an
// error that carries no code (its text may hold request content, so it is not sent).
func errorReply(id uint32, err error) []byte {
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return protocol.ErrorReply(id, xe.Code, xe.Msg)
	}
	return protocol.ErrorReply(id, xerr.Internal, "internal error")
}

// ok, done and notFound build replies: ok starts an OK reply with room for capHint body
// bytes, done finishes its frame, notFound is the whole NOT_FOUND reply.
func ok(id uint32, capHint int) []byte {
	return protocol.BeginReply(protocol.GetBuf(9+capHint), id, protocol.StatusOK)
}

func done(b []byte) []byte { return protocol.FinishFrame(b, 0) }

func notFound(id uint32) []byte { return protocol.SimpleReply(id, protocol.StatusNotFound) }

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// appendID appends a 128-bit digest as a str (its 22-character base64url form).
func appendID(b []byte, d *crypto.Digest) []byte {
	b = protocol.AppendU16(b, crypto.IDLength)
	return crypto.AppendID(b, d)
}
