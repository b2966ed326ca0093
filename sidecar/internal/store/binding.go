package store

import (
	"net/netip"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// BindMode says which properties of the client a session is bound to (S_CREATE's bindMode):
// bits 0-1 the address (0 off, 1 subnet, 2 exact), bit 2 the user agent.
type BindMode uint8

const (
	BindIPSubnet BindMode = 1 // the same /24 (IPv4) or /64 (IPv6)
	BindIPExact  BindMode = 2 // the same address
	BindAgent    BindMode = 4 // the same User-Agent
	bindIPMask   BindMode = 3
)

func (m BindMode) valid() bool { return m&^(bindIPMask|BindAgent) == 0 && m&bindIPMask != bindIPMask }

// recordFlags are the session record flags that store this binding.
func (m BindMode) recordFlags() uint8 {
	var f uint8
	switch m & bindIPMask {
	case BindIPSubnet:
		f |= flagBindIP | flagBindSubnet
	case BindIPExact:
		f |= flagBindIP
	}
	if m&BindAgent != 0 {
		f |= flagBindUA
	}
	return f
}

// MismatchAction is what S_RESOLVE does when the client does not match the session's binding.
type MismatchAction uint8

const (
	MismatchRevoke MismatchAction = 0 // revoke the session, refuse the request
	MismatchReject MismatchAction = 1 // refuse the request, keep the session
	MismatchLog    MismatchAction = 2 // serve the request and report the mismatch
)

func (a MismatchAction) String() string {
	switch a {
	case MismatchRevoke:
		return "revoke"
	case MismatchReject:
		return "reject"
	case MismatchLog:
		return "log"
	}
	return "unknown"
}

// Mismatch bits in resolve results.
const (
	MismatchIP    uint8 = 1
	MismatchAgent uint8 = 2
)

// bindAddress normalises a client address for hashing: IPv4-mapped IPv6 addresses become IPv4,
// zones are dropped and, for subnet binding, the address is cut to its /24 (IPv4) or /64
// (IPv6) prefix. Text that is not an IP address (a Unix socket peer: empty) is hashed as given,
// in its own domain. The first two bytes say which form and which mode, so an exact hash can
// never equal a subnet hash.
func bindAddress(ip []byte, subnet bool) []byte {
	mode := byte('e')
	if subnet {
		mode = 's'
	}
	addr, err := netip.ParseAddr(string(ip))
	if err != nil {
		return append([]byte{'r', mode}, ip...)
	}
	addr = addr.Unmap().WithZone("")
	if subnet {
		bits := 64
		if addr.Is4() {
			bits = 24
		}
		if p, err := addr.Prefix(bits); err == nil {
			addr = p.Addr()
		}
	}
	return append([]byte{'n', mode}, addr.AsSlice()...)
}

// bindingMismatch compares the client with what the session is bound to, in constant time per
// part, and returns the Mismatch* bits of the parts that differ. Caller holds the shard lock.
func (f *found) bindingMismatch(r sessRec, ip, userAgent []byte) uint8 {
	flags := r.flags()
	var m uint8
	if flags&flagBindIP != 0 {
		got := f.sb.keys.BindIP(bindAddress(ip, flags&flagBindSubnet != 0))
		want := r.opt(flagBindIP)
		if !crypto.VerifierEqual(&got, &want) {
			m |= MismatchIP
		}
	}
	if flags&flagBindUA != 0 {
		got := f.sb.keys.BindAgent(userAgent)
		want := r.opt(flagBindUA)
		if !crypto.VerifierEqual(&got, &want) {
			m |= MismatchAgent
		}
	}
	return m
}

// sessionFlags are the SessionFlag* bits resolve reports for a record.
func (r sessRec) sessionFlags() uint8 {
	var f uint8
	if r.flags()&flagRemember != 0 {
		f |= SessionFlagRemember
	}
	if r.u32(sIdle) > 0 {
		f |= SessionFlagIdle
	}
	return f
}
