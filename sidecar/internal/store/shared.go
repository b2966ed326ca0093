package store

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"

// Exported forms of the store's argument checks and binding helpers, for the other backend
// (internal/redisstore), so both enforce exactly the same rules with the same messages.

// CheckKey refuses an empty key or one over MaxKeySize.
func CheckKey(k []byte) error { return checkKey(k) }

// CheckTTL refuses 0 and anything over MaxTTLMs; what names the field.
func CheckTTL(ttl uint64, what string) error { return checkTTL(ttl, what) }

// CheckValue refuses a value longer than max bytes; what names the field.
func CheckValue(v []byte, max int, what string) error {
	if len(v) > max {
		return xerr.New(xerr.ValueTooLarge, "%s is %d bytes, over maxValueSize %d", what, len(v), max)
	}
	return nil
}

// ErrSandbox is the error for a sandbox name that does not match the pattern.
func ErrSandbox() error { return errSandbox() }

// Valid reports whether the mode is one S_CREATE accepts.
func (m BindMode) Valid() bool { return m.valid() }

// BindsIP, BindsSubnet and BindsAgent tell what the mode binds to.
func (m BindMode) BindsIP() bool     { return m&bindIPMask != 0 }
func (m BindMode) BindsSubnet() bool { return m&bindIPMask == BindIPSubnet }
func (m BindMode) BindsAgent() bool  { return m&BindAgent != 0 }

// BindAddress is the normalised form of a client address that binding hashes (see bindAddress).
func BindAddress(ip []byte, subnet bool) []byte { return bindAddress(ip, subnet) }
