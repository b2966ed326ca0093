package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/logging"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// config is the result of a valid CONFIGURE.
type config struct {
	MaxFrameSize uint32
	MaxValueSize int
	LogLevel     slog.Level
	MasterKey    []byte // nil: random
	// ExpiryEvents: report sessions removed because they expired in EXPIRED frames (id 0).
	ExpiryEvents bool
	// EndedEvents: with the Redis store, report sessions other instances ended in ENDED frames (ended.go).
	EndedEvents bool
	Persist     *persistConfig // nil: memory only (persistence.go)
	Redis       *redisConfig   // nil: the in-memory store (backend.go)
}

// configJSON is the wire form of CONFIGURE's configJson. Pointers tell "absent" from zero.
type configJSON struct {
	MaxFrameSize *int64  `json:"maxFrameSize"`
	MaxValueSize *int64  `json:"maxValueSize"`
	LogLevel     *string `json:"logLevel"`
	ExpiryEvents *bool   `json:"expiryEvents"`
	EndedEvents  *bool   `json:"endedEvents"`

	Persistence *persistenceJSON `json:"persistence"`
	Store       *storeJSON       `json:"store"`
}

// parseConfig validates a CONFIGURE request. Error messages name the field; they never echo
// secret values.
func parseConfig(req *protocol.Request) (config, error) {
	c := config{MaxFrameSize: protocol.DefaultMaxFrameSize, MaxValueSize: session.DefaultMaxValueSize, LogLevel: slog.LevelInfo}
	if len(bytes.TrimSpace(req.ConfigJSON)) > 0 {
		var cj configJSON
		dec := json.NewDecoder(bytes.NewReader(req.ConfigJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cj); err != nil {
			return c, xerr.New(xerr.BadRequest, "CONFIGURE: invalid configJson: %s", jsonErr(err))
		}
		if dec.More() {
			return c, xerr.New(xerr.BadRequest, "CONFIGURE: configJson has trailing data")
		}
		if cj.MaxFrameSize != nil {
			if *cj.MaxFrameSize < protocol.MinMaxFrameSize || *cj.MaxFrameSize > protocol.MaxMaxFrameSize {
				return c, xerr.New(xerr.BadRequest, "CONFIGURE: maxFrameSize must be %d..%d bytes", protocol.MinMaxFrameSize, protocol.MaxMaxFrameSize)
			}
			c.MaxFrameSize = uint32(*cj.MaxFrameSize)
		}
		if cj.MaxValueSize != nil {
			if *cj.MaxValueSize < 1 || *cj.MaxValueSize > int64(c.MaxFrameSize) {
				return c, xerr.New(xerr.BadRequest, "CONFIGURE: maxValueSize must be 1..maxFrameSize (%d) bytes", c.MaxFrameSize)
			}
			c.MaxValueSize = int(*cj.MaxValueSize)
		}
		if cj.ExpiryEvents != nil {
			c.ExpiryEvents = *cj.ExpiryEvents
		}
		if cj.EndedEvents != nil {
			c.EndedEvents = *cj.EndedEvents
		}
		if cj.Persistence != nil {
			p, err := parsePersistence(cj.Persistence)
			if err != nil {
				return c, err
			}
			c.Persist = p
		}
		if cj.Store != nil {
			r, err := parseStore(cj.Store)
			if err != nil {
				return c, err
			}
			c.Redis = r
		}
		if cj.LogLevel != nil {
			l, err := logging.ParseLevel(*cj.LogLevel)
			if err != nil {
				return c, xerr.New(xerr.BadRequest, "CONFIGURE: %s", err.Error())
			}
			c.LogLevel = l
		}
	}
	seen := map[string]bool{}
	for _, s := range req.Secrets {
		name := string(s.Name)
		if seen[name] {
			return c, xerr.New(xerr.BadRequest, "CONFIGURE: secret %q given twice", name)
		}
		seen[name] = true
		switch name {
		case "masterKey":
			if len(s.Value) != crypto.KeySize {
				return c, xerr.New(xerr.BadRequest, "CONFIGURE: secret masterKey must be exactly %d bytes (got %d)", crypto.KeySize, len(s.Value))
			}
			c.MasterKey = s.Value
		case secretVault, secretMachineID:
			if err := persistenceSecret(&c, name, s.Value); err != nil {
				return c, err
			}
		case secretStore, secretStoreIdentity:
			if err := storeSecretParam(&c, name, s.Value); err != nil {
				return c, err
			}
		default:
			return c, xerr.New(xerr.BadRequest, "CONFIGURE: unknown secret %q (known: masterKey, vaultSecret, machineId, storeSecret, storeIdentity)", name)
		}
	}
	if err := checkPersistence(&c); err != nil {
		return c, err
	}
	if err := checkStore(&c); err != nil {
		return c, err
	}
	return c, nil
}

// jsonErr turns a JSON decoding error into a message naming the field, without echoing input.
func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " must be a " + te.Type.String()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ") + " (known: maxFrameSize, maxValueSize, logLevel, expiryEvents, endedEvents, persistence.path, persistence.fsync, persistence.compactMinBytes, store.type, store.url, store.cluster, store.keyPrefix, store.timeoutMs)"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "not valid JSON"
	}
	return "not a JSON object of known fields"
}

type effectiveConfig struct {
	ProtocolVersion int    `json:"protocolVersion"`
	BuildVersion    string `json:"buildVersion"`
	MaxFrameSize    uint32 `json:"maxFrameSize"`
	MaxValueSize    int    `json:"maxValueSize"`
	LogLevel        string `json:"logLevel"`
	MasterKey       string `json:"masterKey"` // "supplied" or "random", never the key
	MaxKeySize      int    `json:"maxKeySize"`
	MaxTTLMs        int    `json:"maxTtlMs"`
	MaxGraceMs      int    `json:"maxGraceMs"`
	MaxScanLimit    int    `json:"maxScanLimit"`

	Persistence *persistenceInfo `json:"persistence,omitempty"`
	Store       *storeInfo       `json:"store,omitempty"`
}

// exactSecret returns a copy of a CONFIGURE secret that must be exactly size bytes (a key).
func exactSecret(name string, value []byte, size int) ([]byte, error) {
	if len(value) != size {
		return nil, xerr.New(xerr.BadRequest, "CONFIGURE: secret %s must be exactly %d bytes (got %d)", name, size, len(value))
	}
	return bytes.Clone(value), nil
}

// identitySecret returns a copy of a CONFIGURE secret naming an identity (1..max bytes).
func identitySecret(name string, value []byte, max int) ([]byte, error) {
	if len(value) == 0 || len(value) > max {
		return nil, xerr.New(xerr.BadRequest, "CONFIGURE: secret %s must be 1..%d bytes (got %d)", name, max, len(value))
	}
	return bytes.Clone(value), nil
}
