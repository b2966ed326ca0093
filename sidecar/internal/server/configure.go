package server

import (
	"encoding/json"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/logging"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

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
