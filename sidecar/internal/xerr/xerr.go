// Package xerr holds the typed errors the sidecar replies with. The numeric codes are the
// wire codes of docs/protocol.md ("Error codes") and must never change.
package xerr

import "fmt"

// Code is a protocol error code (u16 on the wire).
type Code uint16

const (
	BadRequest      Code = 1
	UnknownOp       Code = 2
	InvalidSandbox  Code = 3
	KeyTooLarge     Code = 4
	ValueTooLarge   Code = 5
	InvalidTTL      Code = 6
	FrameTooLarge   Code = 7
	NotConfigured   Code = 8
	ShuttingDown    Code = 9
	VersionMismatch Code = 10
	Internal        Code = 11
	LimitReached    Code = 12 // S_CREATE with the reject policy: the user has maxSessionsPerUser sessions
	// DeadlineExceeded refuses a change whose request deadline had passed when it was about to
	// be applied: nothing was changed (the caller has given up on it).
	DeadlineExceeded Code = 13

	// Persistence (docs/protocol.md, "Persistence"): 20..24 refuse CONFIGURE (the vault cannot
	// be opened), 25 refuses a change that could not be written to the vault.
	VaultWrongSecret  Code = 20
	VaultWrongMachine Code = 21
	VaultCorrupt      Code = 22
	VaultLocked       Code = 23
	VaultIO           Code = 24
	PersistFailed     Code = 25

	// Shared store (docs/protocol.md, "Redis store"): 30 answers a request the store cannot
	// serve now (Redis down, failing over, timing out: retry later); 31 and 32 refuse CONFIGURE
	// (this instance's secret or identity differs from the one the records in Redis were
	// written with).
	Unavailable        Code = 30
	StoreWrongSecret   Code = 31
	StoreWrongIdentity Code = 32
)

var names = map[Code]string{
	BadRequest:       "BAD_REQUEST",
	UnknownOp:        "UNKNOWN_OP",
	InvalidSandbox:   "INVALID_SANDBOX",
	KeyTooLarge:      "KEY_TOO_LARGE",
	ValueTooLarge:    "VALUE_TOO_LARGE",
	InvalidTTL:       "INVALID_TTL",
	FrameTooLarge:    "FRAME_TOO_LARGE",
	NotConfigured:    "NOT_CONFIGURED",
	ShuttingDown:     "SHUTTING_DOWN",
	VersionMismatch:  "VERSION_MISMATCH",
	Internal:         "INTERNAL",
	LimitReached:     "LIMIT_REACHED",
	DeadlineExceeded: "DEADLINE_EXCEEDED",

	VaultWrongSecret:  "VAULT_WRONG_SECRET",
	VaultWrongMachine: "VAULT_WRONG_MACHINE",
	VaultCorrupt:      "VAULT_CORRUPT",
	VaultLocked:       "VAULT_LOCKED",
	VaultIO:           "VAULT_IO",
	PersistFailed:     "PERSIST_FAILED",

	Unavailable:        "UNAVAILABLE",
	StoreWrongSecret:   "STORE_WRONG_SECRET",
	StoreWrongIdentity: "STORE_WRONG_IDENTITY",
}

// String returns the protocol name of the code (e.g. "BAD_REQUEST").
func (c Code) String() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("CODE_%d", uint16(c))
}

// Error is an error that maps to an ERROR reply. Msg must never contain secrets, tokens, key
// names, values or user ids: it goes to the client and may be logged.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Msg }

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
