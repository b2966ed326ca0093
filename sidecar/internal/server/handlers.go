package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/logging"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// debugOp, when set (by a test-only build tag), handles an op outside the protocol table.
var debugOp func(req []byte) ([]byte, bool)

// configure answers CONFIGURE. It runs in the read loop, before any later frame is read.
func (s *Server) configure(payload []byte) []byte {
	var req protocol.Request
	if err := protocol.DecodeRequest(payload, &req); err != nil {
		return errorReply(req.ID, err)
	}
	s.ops[protocol.OpConfigure].Add(1)
	if s.configured.Load() {
		return protocol.ErrorReply(req.ID, xerr.BadRequest, "CONFIGURE: already configured (send it once, first)")
	}
	if err := s.checkHandshake(&req); err != nil {
		return errorReply(req.ID, err)
	}
	if err := s.checkDeadline(&req); err != nil {
		return errorReply(req.ID, err)
	}
	cfg, err := parseConfig(&req)
	if err != nil {
		return errorReply(req.ID, err)
	}
	if cfg.Redis != nil {
		return s.configureRedis(req.ID, cfg) // the shared store (backend.go)
	}
	masterKey, source := cfg.MasterKey, "random"
	if cfg.MasterKey != nil {
		source = "supplied"
	}
	var v *vault.Vault
	if cfg.Persist != nil {
		// The vault keeps the data key the records are sealed under (persistence.go).
		if v, err = s.openVault(cfg.Persist); err != nil {
			return vaultErrorReply(req.ID, err)
		}
		masterKey, source = v.DataKey(), "vault"
	}
	master, err := crypto.NewMaster(masterKey)
	if err != nil {
		if v != nil {
			v.Close()
		}
		return protocol.ErrorReply(req.ID, xerr.Internal, "could not create the master key")
	}
	s.level.Set(cfg.LogLevel)
	s.cfg = cfg
	s.master = master
	s.maxFrame = cfg.MaxFrameSize
	storeOpts := store.Options{Master: master, Clock: s.clock, MaxValueSize: cfg.MaxValueSize, Logger: s.log}
	if cfg.ExpiryEvents {
		s.expired = newExpiredReporter(s.send, cfg.MaxFrameSize)
		storeOpts.OnSessionExpired = s.expired.note
	}
	s.store = store.New(storeOpts)
	var persisted *persistenceInfo
	if v != nil {
		if persisted, err = s.loadVault(v, s.store, cfg.Persist); err != nil {
			// Refused (wrong secret, other machine, corruption): the vault is left untouched
			// and the sidecar stays unconfigured.
			v.Close()
			master.Wipe()
			s.store, s.master = nil, nil
			if s.expired != nil {
				s.expired.abort()
				s.expired = nil
			}
			return vaultErrorReply(req.ID, err)
		}
		s.vault = v
	}
	s.stopExpirer = s.store.StartExpirer(expiryInterval)
	s.backend = s.store
	s.configured.Store(true)
	eff, _ := json.Marshal(effectiveConfig{
		ProtocolVersion: protocol.Version, BuildVersion: s.build,
		MaxFrameSize: cfg.MaxFrameSize, MaxValueSize: cfg.MaxValueSize,
		LogLevel: logging.LevelName(cfg.LogLevel), MasterKey: source,
		MaxKeySize: session.MaxKeySize, MaxTTLMs: session.MaxTTLMs, MaxGraceMs: session.MaxGraceMs,
		MaxScanLimit: session.MaxScanLimit, Persistence: persisted,
	})
	s.log.Info("configured", "maxFrameSize", cfg.MaxFrameSize, "maxValueSize", cfg.MaxValueSize, "masterKey", source)
	b := protocol.BeginReply(nil, req.ID, protocol.StatusOK)
	b = protocol.AppendStrBytes(b, eff)
	return protocol.FinishFrame(b, 0)
}

func errorReply(id uint32, err error) []byte {
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return protocol.ErrorReply(id, xe.Code, xe.Msg)
	}
	return protocol.ErrorReply(id, xerr.Internal, "internal error")
}

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

func (s *Server) run(req *protocol.Request) ([]byte, error) {
	st := s.backend
	id := req.ID
	dl := session.Deadline(req.Deadline)
	switch req.Op {
	case protocol.OpPing:
		if s.redis != nil {
			// With the shared store, a health check must see Redis too (backend.go).
			if err := s.redis.Ping(); err != nil {
				return nil, err
			}
		}
		return done(ok(id, 0)), nil

	case protocol.OpStats:
		js, err := json.Marshal(s.stats())
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendBytes(ok(id, 4+len(js)), js)), nil

	case protocol.OpKVSet:
		exp, err := st.KVSet(dl, req.Sandbox, req.Key, req.Value, req.TTLMs)
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendI64(ok(id, 8), exp)), nil

	case protocol.OpKVGet:
		// The value is opened straight into the reply: u32 length, value, i64 expiresAt.
		b := ok(id, 4+len(req.Key)+s.cfg.MaxValueSize/8+16)
		lenAt := len(b)
		b = protocol.AppendU32(b, 0)
		out, exp, found, err := st.KVGet(req.Sandbox, req.Key, b)
		if err != nil {
			return nil, err
		}
		if !found {
			protocol.PutBuf(b)
			return notFound(id), nil
		}
		b = out
		binary.LittleEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
		return done(protocol.AppendI64(b, exp)), nil

	case protocol.OpKVDel:
		existed, err := st.KVDel(dl, req.Sandbox, req.Key)
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendU8(ok(id, 1), boolByte(existed))), nil

	case protocol.OpKVHas:
		exists, err := st.KVHas(req.Sandbox, req.Key)
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendU8(ok(id, 1), boolByte(exists))), nil

	case protocol.OpKVTTL:
		rem, found, err := st.KVTTL(req.Sandbox, req.Key)
		if err != nil {
			return nil, err
		}
		if !found {
			return notFound(id), nil
		}
		return done(protocol.AppendI64(ok(id, 8), rem)), nil

	case protocol.OpKVTouch:
		exp, found, err := st.KVTouch(dl, req.Sandbox, req.Key, req.TTLMs)
		if err != nil {
			return nil, err
		}
		if !found {
			return notFound(id), nil
		}
		return done(protocol.AppendI64(ok(id, 8), exp)), nil

	case protocol.OpKVScan:
		names, next, err := st.KVScan(req.Sandbox, req.Key, req.Cursor, req.Limit)
		if err != nil {
			return nil, err
		}
		size := 2 + len(next) + 4
		for _, n := range names {
			size += 4 + len(n)
		}
		b := protocol.AppendStr(ok(id, size), next)
		b = protocol.AppendU32(b, uint32(len(names)))
		for _, n := range names {
			b = protocol.AppendBytes(b, n)
		}
		return done(b), nil

	case protocol.OpClear:
		n, err := st.Clear(dl, req.Sandbox)
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendU64(ok(id, 8), n)), nil

	case protocol.OpSCreate:
		res, err := st.SessionCreate(dl, req.Sandbox, req.Value, session.CreateOptions{
			TTLMs: req.TTLMs, IdleMs: req.IdleMs, UserID: req.UserID, Meta: req.Meta,
			Remember:   req.CreateFlags&protocol.CreateRemember != 0,
			MaxPerUser: req.MaxPerUser, OnLimit: session.LimitPolicy(req.OnLimit),
			Bind: session.BindMode(req.BindMode), IP: req.IP, UserAgent: req.UserAgent,
		})
		if err != nil {
			return nil, err
		}
		b := protocol.AppendStrBytes(ok(id, 2+crypto.TokenLength+2*(2+crypto.IDLength)+8+4+len(res.Evicted)*(2+crypto.IDLength)), res.Token[:])
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

	case protocol.OpSRegen:
		res, err := st.SessionRegenerate(dl, req.Sandbox, req.Token, req.GraceMs, req.Flags&protocol.RegenKeepData != 0, req.Value)
		if err != nil {
			return nil, err
		}
		if res.Status != session.OK {
			return notFound(id), nil
		}
		b := protocol.AppendStrBytes(ok(id, 2+crypto.TokenLength+3*(2+crypto.IDLength)+8+1), res.Token[:])
		clear(res.Token[:])
		b = appendID(b, &res.SessionID)
		b = protocol.AppendI64(b, res.ExpiresAt)
		b = appendID(b, &res.CSRF)
		clear(res.CSRF[:])
		b = protocol.AppendU8(b, res.Flags)
		return done(appendID(b, &res.OldID)), nil

	case protocol.OpSResolve:
		return s.resolve(req)

	case protocol.OpSUpdate:
		grace := uint64(session.DefaultGraceMs)
		if req.HasExt {
			grace = req.GraceMs
		}
		exp, found, err := st.SessionUpdate(dl, req.Sandbox, req.Token, req.Value, grace)
		if err != nil {
			return nil, err
		}
		if !found {
			return notFound(id), nil
		}
		return done(protocol.AppendI64(ok(id, 8), exp)), nil

	case protocol.OpSRevoke:
		sid, existed, err := st.SessionRevoke(dl, req.Sandbox, req.Token)
		if err != nil {
			return nil, err
		}
		b := protocol.AppendU8(ok(id, 1+2+crypto.IDLength), boolByte(existed))
		if !existed {
			return done(protocol.AppendU16(b, 0)), nil
		}
		return done(appendID(b, &sid)), nil

	case protocol.OpSList:
		list, err := st.SessionList(req.Sandbox, req.UserID)
		if err != nil {
			return nil, err
		}
		size := 4
		for _, it := range list {
			size += 2 + crypto.IDLength + 24 + 4 + len(it.Meta)
		}
		b := protocol.AppendU32(ok(id, size), uint32(len(list)))
		for _, it := range list {
			b = appendID(b, &it.SessionID)
			b = protocol.AppendI64(b, it.CreatedAt)
			b = protocol.AppendI64(b, it.LastSeenAt)
			b = protocol.AppendI64(b, it.ExpiresAt)
			b = protocol.AppendBytes(b, it.Meta)
		}
		return done(b), nil

	case protocol.OpSRevokeAll:
		ids, err := st.SessionRevokeAll(dl, req.Sandbox, req.UserID, req.Token)
		if err != nil {
			return nil, err
		}
		b := protocol.AppendU32(ok(id, 4+len(ids)*(2+crypto.IDLength)), uint32(len(ids)))
		for i := range ids {
			b = appendID(b, &ids[i])
		}
		return done(b), nil

	case protocol.OpSRevokeID:
		existed, err := st.SessionRevokeID(dl, req.Sandbox, req.SessionID)
		if err != nil {
			return nil, err
		}
		return done(protocol.AppendU8(ok(id, 1), boolByte(existed))), nil
	}
	return nil, xerr.New(xerr.UnknownOp, "unknown op 0x%02x", uint8(req.Op))
}

// resolveFixed is the size of S_RESOLVE's reply fields before the data: str token, u8 rotated,
// i64 expiresAt, str sessionId, u32 data length.
const resolveFixed = 2 + crypto.TokenLength + 1 + 8 + 2 + crypto.IDLength + 4

// resolveTail is the largest size of the fields after the data: u8 sessionFlags, u8 mismatch,
// str csrfToken.
const resolveTail = 1 + 1 + 2 + crypto.IDLength

// resolve answers S_RESOLVE. The data is opened straight into the reply after a reserved
// fixed-size region, which is filled in afterwards; the other fields follow the data.
func (s *Server) resolve(req *protocol.Request) ([]byte, error) {
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

// appendID appends a 128-bit digest as a str (its 22-character base64url form).
func appendID(b []byte, d *crypto.Digest) []byte {
	b = protocol.AppendU16(b, crypto.IDLength)
	return crypto.AppendID(b, d)
}

type statsJSON struct {
	Sandboxes     map[string]session.SandboxStats `json:"sandboxes"`
	Ops           map[string]uint64               `json:"ops"`
	Rotations     uint64                          `json:"rotations"`
	ReuseDetected uint64                          `json:"reuseDetected"`
	Expired       uint64                          `json:"expired"`
	Revoked       uint64                          `json:"revoked"`
	Evicted       uint64                          `json:"evicted"`
	Mismatches    uint64                          `json:"bindingMismatches"`
	UptimeMs      int64                           `json:"uptimeMs"`
}

func (s *Server) stats() statsJSON {
	st := s.backend.Stats()
	ops := map[string]uint64{}
	for _, op := range protocol.Ops() {
		ops[op.String()] = s.ops[op].Load()
	}
	return statsJSON{Sandboxes: st.Sandboxes, Ops: ops, Rotations: st.Rotations, ReuseDetected: st.ReuseDetected,
		Expired: st.Expired, Revoked: st.Revoked, Evicted: st.Evicted, Mismatches: st.BindingMismatches,
		UptimeMs: time.Since(s.started).Milliseconds()}
}
