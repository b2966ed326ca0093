package session

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Limits of docs/protocol.md, defined once in the protocol table (scripts/protocol-table.js)
// so that the client and every backend agree. Every backend enforces them through the checks
// below, so both refuse the same requests with the same codes and messages.
const (
	MaxTTLMs            = protocol.MaxTTLMs // 5 days: the cap of every TTL, counted from creation
	MaxKeySize          = protocol.MaxKeySize
	DefaultMaxValueSize = protocol.DefaultMaxValueSize
	MaxGraceMs          = protocol.MaxGraceMs
	DefaultGraceMs      = protocol.DefaultUpdateGraceMs // grace window S_UPDATE accepts when the request leaves it out
	MaxScanLimit        = protocol.MaxScanLimit
	maxSandboxName      = 64
)

// ValidSandboxName reports whether name matches ^[A-Za-z0-9._:-]{1,64}$.
func ValidSandboxName(name []byte) bool {
	if len(name) == 0 || len(name) > maxSandboxName {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// ErrSandbox is the error for a sandbox name that does not match the pattern.
func ErrSandbox() error {
	return xerr.New(xerr.InvalidSandbox, "sandbox name must match ^[A-Za-z0-9._:-]{1,64}$")
}

// CheckKey refuses an empty key or one over MaxKeySize.
func CheckKey(k []byte) error {
	if len(k) == 0 {
		return xerr.New(xerr.BadRequest, "key must not be empty")
	}
	if len(k) > MaxKeySize {
		return xerr.New(xerr.KeyTooLarge, "key is %d bytes, over the limit of %d", len(k), MaxKeySize)
	}
	return nil
}

// CheckTTL refuses 0 and anything over MaxTTLMs; what names the field.
func CheckTTL(ttl uint64, what string) error {
	if ttl == 0 || ttl > MaxTTLMs {
		return xerr.New(xerr.InvalidTTL, "%s must be 1..%d ms (5 days)", what, MaxTTLMs)
	}
	return nil
}

// CheckValue refuses a value longer than max bytes; what names the field.
func CheckValue(v []byte, max int, what string) error {
	if len(v) > max {
		return xerr.New(xerr.ValueTooLarge, "%s is %d bytes, over maxValueSize %d", what, len(v), max)
	}
	return nil
}

// CheckKVSet refuses KV_SET arguments every backend refuses: the key, a value over max bytes,
// the TTL.
func CheckKVSet(name, value []byte, ttlMs uint64, max int) error {
	if err := CheckKey(name); err != nil {
		return err
	}
	if err := CheckValue(value, max, "value"); err != nil {
		return err
	}
	return CheckTTL(ttlMs, "ttlMs")
}

// CheckGrace refuses a grace window over MaxGraceMs.
func CheckGrace(graceMs uint64) error {
	if graceMs > MaxGraceMs {
		return xerr.New(xerr.BadRequest, "graceMs must be at most %d", MaxGraceMs)
	}
	return nil
}

// CheckScan refuses a KV_SCAN limit outside 1..MaxScanLimit and a prefix over MaxKeySize.
func CheckScan(prefix []byte, limit uint32) error {
	if limit == 0 || limit > MaxScanLimit {
		return xerr.New(xerr.BadRequest, "KV_SCAN: limit must be 1..%d", MaxScanLimit)
	}
	if len(prefix) > MaxKeySize {
		return xerr.New(xerr.KeyTooLarge, "prefix is %d bytes, over the limit of %d", len(prefix), MaxKeySize)
	}
	return nil
}

// ErrBadCursor is the error for a KV_SCAN cursor the backend did not issue.
func ErrBadCursor() error {
	return xerr.New(xerr.BadRequest, "KV_SCAN: invalid cursor (pass back the nextCursor of the previous page, or \"\")")
}

// Check refuses S_CREATE arguments every backend refuses: data and meta over max bytes, a TTL
// or idle timeout out of range, an unknown limit policy or binding mode.
func (o *CreateOptions) Check(data []byte, max int) error {
	if err := CheckValue(data, max, "data"); err != nil {
		return err
	}
	if err := CheckValue(o.Meta, max, "meta"); err != nil {
		return err
	}
	if err := CheckTTL(o.TTLMs, "ttlMs"); err != nil {
		return err
	}
	if o.IdleMs > MaxTTLMs {
		return xerr.New(xerr.InvalidTTL, "idleMs must be 0 (none) or 1..%d ms (5 days)", MaxTTLMs)
	}
	if o.OnLimit > LimitReject {
		return xerr.New(xerr.BadRequest, "onLimit must be 0 (evict-oldest) or 1 (reject)")
	}
	if !o.Bind.Valid() {
		return xerr.New(xerr.BadRequest, "bindMode has an invalid value 0x%02x", uint8(o.Bind))
	}
	return CheckAuth(o.Auth)
}

// Check refuses S_RESOLVE options out of range.
func (o *ResolveOptions) Check() error {
	if err := CheckGrace(o.GraceMs); err != nil {
		return err
	}
	if o.CheckBinding && o.OnMismatch > MismatchLog {
		return xerr.New(xerr.BadRequest, "onMismatch must be 0 (revoke), 1 (reject) or 2 (log)")
	}
	return nil
}

// CheckRegenerate refuses S_REGENERATE arguments out of range: a grace over MaxGraceMs, data
// with keepData, data over max bytes.
func CheckRegenerate(graceMs uint64, keepData bool, data []byte, max int) error {
	if err := CheckGrace(graceMs); err != nil {
		return err
	}
	if keepData {
		if len(data) != 0 {
			return xerr.New(xerr.BadRequest, "data must be empty when keepData is set")
		}
		return nil
	}
	return CheckValue(data, max, "data")
}
