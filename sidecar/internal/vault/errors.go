package vault

import "fmt"

// Kind classifies why a vault could not be opened, loaded or written. The first three are the
// start-up refusals of docs/vault-format.md ("Refusals"); the sidecar maps each kind to its
// own wire error code, and the NestJS module to an XemsVaultError of the same kind.
type Kind string

const (
	// WrongSecret: the secret-only check value in the header does not match.
	WrongSecret Kind = "wrong-secret"
	// WrongMachine: the secret is right, but the key bound to the machine identity is not.
	WrongMachine Kind = "wrong-machine"
	// Corrupt: any other inconsistency (bad magic, checksum, tag, sequence, structure), except
	// a torn journal tail, which is cut.
	Corrupt Kind = "corrupt"
	// Locked: another process holds the vault's lock.
	Locked Kind = "locked"
	// IO: the directory or a file cannot be created, read or written.
	IO Kind = "io"
	// WriteFailed: a change could not be written (disk full, read-only, I/O error); the change
	// was not made.
	WriteFailed Kind = "write-failed"
)

// Error is a vault failure. Msg never contains key material or record content.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the underlying OS error, if any
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// Detail is the message without the kind: what a client may be told.
func (e *Error) Detail() string { return e.Msg }

func newErr(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

func corrupt(format string, args ...any) *Error { return newErr(Corrupt, nil, format, args...) }
