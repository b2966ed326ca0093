// Package xerr holds the typed errors the sidecar replies with. The numeric codes are the
// wire codes of docs/protocol.md ("Error codes"), generated from scripts/protocol-table.js
// (codes.gen.go), and must never change.
package xerr

import "fmt"

// Code is a protocol error code (u16 on the wire).
type Code uint16

// String returns the protocol name of the code (e.g. "BAD_REQUEST").
func (c Code) String() string {
	if n := c.name(); n != "" {
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
