package server

import (
	"errors"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Persistence in CONFIGURE: the configJson field "persistence" ({ path, fsync,
// compactMinBytes }) and two secrets, "vaultSecret" (32 bytes) and "machineId" (the identity the
// vault key is bound to; absent = unbound). The secrets travel only in the CONFIGURE frame.
const (
	secretVault     = "vaultSecret"
	secretMachineID = "machineId"
)

type persistenceJSON struct {
	Path            *string `json:"path"`
	Fsync           *string `json:"fsync"`
	CompactMinBytes *int64  `json:"compactMinBytes"`
}

type persistConfig struct {
	Dir             string
	Fsync           vault.Fsync
	CompactMinBytes int64
	Secret          []byte // copies: the request frame is wiped after CONFIGURE
	Binding         vault.Binding
}

// persistenceInfo is the "persistence" object of effectiveConfigJson.
type persistenceInfo struct {
	Path           string `json:"path"`
	Fsync          string `json:"fsync"`
	Bound          bool   `json:"bound"`
	Created        bool   `json:"created"`
	Records        int    `json:"records"`
	JournalEntries int    `json:"journalEntries"`
	Expired        int    `json:"expired"`
	TornBytes      int64  `json:"tornBytes"`
	LoadMs         int64  `json:"loadMs"`
}

func parsePersistence(pj *persistenceJSON) (*persistConfig, error) {
	p := &persistConfig{Fsync: vault.FsyncEverySec}
	if pj.Path == nil || *pj.Path == "" {
		return nil, xerr.New(xerr.BadRequest, "CONFIGURE: persistence.path is required (the vault directory)")
	}
	p.Dir = *pj.Path
	if pj.Fsync != nil {
		f, ok := vault.ParseFsync(*pj.Fsync)
		if !ok {
			return nil, xerr.New(xerr.BadRequest, "CONFIGURE: persistence.fsync must be \"always\", \"everysec\" or \"no\"")
		}
		p.Fsync = f
	}
	if pj.CompactMinBytes != nil {
		if *pj.CompactMinBytes < 4096 {
			return nil, xerr.New(xerr.BadRequest, "CONFIGURE: persistence.compactMinBytes must be at least 4096")
		}
		p.CompactMinBytes = *pj.CompactMinBytes
	}
	return p, nil
}

// persistenceSecret records one of the two persistence secrets (c.Persist may not be parsed
// yet when the secrets are read: checkPersistence checks the combination).
func persistenceSecret(c *config, name string, value []byte) error {
	if c.Persist == nil {
		return xerr.New(xerr.BadRequest, "CONFIGURE: secret %q needs the persistence field in configJson", name)
	}
	switch name {
	case secretVault:
		secret, err := exactSecret(name, value, vault.SecretSize)
		if err != nil {
			return err
		}
		c.Persist.Secret = secret
	case secretMachineID:
		identity, err := identitySecret(name, value, vault.MaxIdentity)
		if err != nil {
			return err
		}
		c.Persist.Binding = vault.Binding{Bound: true, Identity: identity}
	}
	return nil
}

func checkPersistence(c *config) error {
	if c.Persist == nil {
		return nil
	}
	if c.Persist.Secret == nil {
		return xerr.New(xerr.BadRequest, "CONFIGURE: persistence needs the secret vaultSecret")
	}
	if c.MasterKey != nil {
		return xerr.New(xerr.BadRequest, "CONFIGURE: masterKey cannot be combined with persistence (the vault keeps its own data key)")
	}
	return nil
}

// openVault locks and opens the vault (checking the secret and the machine identity). The
// config's secret copies are wiped: the vault holds its own.
func (s *Server) openVault(p *persistConfig) (*vault.Vault, error) {
	defer clear(p.Secret)
	defer clear(p.Binding.Identity)
	return vault.Open(vault.Options{Dir: p.Dir, Secret: p.Secret, Binding: p.Binding, Fsync: p.Fsync,
		Logger: s.log, CompactMinBytes: p.CompactMinBytes})
}

// loadVault replays the vault into st and turns journaling on.
func (s *Server) loadVault(v *vault.Vault, st *store.Store, p *persistConfig) (*persistenceInfo, error) {
	start := time.Now()
	ls, err := v.Load(st)
	if err != nil {
		return nil, err
	}
	st.SetJournal(v)
	v.Start(st)
	sessions, kv := 0, 0
	for _, sb := range st.Stats().Sandboxes {
		sessions += sb.Sessions
		kv += sb.KV
	}
	info := &persistenceInfo{Path: v.Dir(), Fsync: p.Fsync.String(), Bound: v.Bound(), Created: ls.Created,
		Records: sessions + kv, JournalEntries: ls.JournalEntries, Expired: ls.Expired, TornBytes: ls.TornBytes,
		LoadMs: time.Since(start).Milliseconds()}
	s.log.Info("vault loaded", "path", info.Path, "created", info.Created, "sessions", sessions, "kv", kv,
		"journalEntries", info.JournalEntries, "expiredSkipped", info.Expired, "tornBytes", info.TornBytes,
		"bytes", ls.Bytes, "ms", info.LoadMs, "fsync", info.Fsync, "bound", info.Bound)
	return info, nil
}

// vaultErrorReply answers a vault failure with its own error code.
func vaultErrorReply(id uint32, err error) []byte {
	var ve *vault.Error
	if !errors.As(err, &ve) {
		return errorReply(id, err)
	}
	code := xerr.VaultIO
	switch ve.Kind {
	case vault.WrongSecret:
		code = xerr.VaultWrongSecret
	case vault.WrongMachine:
		code = xerr.VaultWrongMachine
	case vault.Corrupt:
		code = xerr.VaultCorrupt
	case vault.Locked:
		code = xerr.VaultLocked
	case vault.WriteFailed:
		code = xerr.PersistFailed
	}
	return protocol.ErrorReply(id, code, ve.Msg)
}
