package server

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// The handlers of the key-value operations (and CLEAR), called by run (dispatch.go).

// kvSet answers KV_SET with the new expiry.
func (s *Server) kvSet(req *protocol.Request) ([]byte, error) {
	exp, err := s.backend.KVSet(session.Deadline(req.Deadline), req.Sandbox, req.Key, req.Value, req.TTLMs)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendI64(ok(req.ID, 8), exp)), nil
}

// kvGet answers KV_GET. The value is opened straight into the reply: u32 length, value, i64 expiresAt.
func (s *Server) kvGet(req *protocol.Request) ([]byte, error) {
	b := ok(req.ID, 4+len(req.Key)+s.cfg.MaxValueSize/8+16)
	lenAt := len(b)
	b = protocol.AppendU32(b, 0)
	out, exp, found, err := s.backend.KVGet(req.Sandbox, req.Key, b)
	if err != nil {
		return nil, err
	}
	if !found {
		protocol.PutBuf(b)
		return notFound(req.ID), nil
	}
	b = out
	binary.LittleEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return done(protocol.AppendI64(b, exp)), nil
}

// kvDel answers KV_DEL: whether the key existed.
func (s *Server) kvDel(req *protocol.Request) ([]byte, error) {
	existed, err := s.backend.KVDel(session.Deadline(req.Deadline), req.Sandbox, req.Key)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendU8(ok(req.ID, 1), boolByte(existed))), nil
}

// kvHas answers KV_HAS.
func (s *Server) kvHas(req *protocol.Request) ([]byte, error) {
	exists, err := s.backend.KVHas(req.Sandbox, req.Key)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendU8(ok(req.ID, 1), boolByte(exists))), nil
}

// kvTTL answers KV_TTL with the time left.
func (s *Server) kvTTL(req *protocol.Request) ([]byte, error) {
	rem, found, err := s.backend.KVTTL(req.Sandbox, req.Key)
	if err != nil {
		return nil, err
	}
	if !found {
		return notFound(req.ID), nil
	}
	return done(protocol.AppendI64(ok(req.ID, 8), rem)), nil
}

// kvTouch answers KV_TOUCH with the new expiry.
func (s *Server) kvTouch(req *protocol.Request) ([]byte, error) {
	exp, found, err := s.backend.KVTouch(session.Deadline(req.Deadline), req.Sandbox, req.Key, req.TTLMs)
	if err != nil {
		return nil, err
	}
	if !found {
		return notFound(req.ID), nil
	}
	return done(protocol.AppendI64(ok(req.ID, 8), exp)), nil
}

// kvScan answers SCAN: one page of key names and the next cursor.
func (s *Server) kvScan(req *protocol.Request) ([]byte, error) {
	names, next, err := s.backend.KVScan(req.Sandbox, req.Key, req.Cursor, req.Limit)
	if err != nil {
		return nil, err
	}
	size := 2 + len(next) + 4
	for _, n := range names {
		size += 4 + len(n)
	}
	b := protocol.AppendStr(ok(req.ID, size), next)
	b = protocol.AppendU32(b, uint32(len(names)))
	for _, n := range names {
		b = protocol.AppendBytes(b, n)
	}
	return done(b), nil
}

// clearSandbox answers CLEAR: how many records of the sandbox were removed.
func (s *Server) clearSandbox(req *protocol.Request) ([]byte, error) {
	n, err := s.backend.Clear(session.Deadline(req.Deadline), req.Sandbox)
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendU64(ok(req.ID, 8), n)), nil
}
