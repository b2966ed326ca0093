package session

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

// Valid reports whether the mode is one S_CREATE accepts.
func (m BindMode) Valid() bool { return m&^(bindIPMask|BindAgent) == 0 && m&bindIPMask != bindIPMask }

// flags are the session flags that record this binding.
func (m BindMode) flags() uint8 {
	var f uint8
	switch m & bindIPMask {
	case BindIPSubnet:
		f |= FlagBindIP | FlagBindSubnet
	case BindIPExact:
		f |= FlagBindIP
	}
	if m&BindAgent != 0 {
		f |= FlagBindUA
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

// BindAddress normalises a client address for hashing: IPv4-mapped IPv6 addresses become IPv4,
// zones are dropped and, for subnet binding, the address is cut to its /24 (IPv4) or /64
// (IPv6) prefix. Text that is not an IP address (a Unix socket peer: empty) is hashed as given,
// in its own domain. The first two bytes say which form and which mode, so an exact hash can
// never equal a subnet hash.
func BindAddress(ip []byte, subnet bool) []byte {
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

// bind records the binding of mode for a client: the flags and keyed hashes of its address
// and user agent, nothing else of them.
func (st *State) bind(keys *crypto.SandboxKeys, mode BindMode, ip, userAgent []byte) {
	st.Flags |= mode.flags()
	if st.Flags&FlagBindIP != 0 {
		st.BoundIP = keys.BindIP(BindAddress(ip, st.Flags&FlagBindSubnet != 0))
	}
	if st.Flags&FlagBindUA != 0 {
		st.BoundUA = keys.BindAgent(userAgent)
	}
}

// Mismatch compares the client with what the session is bound to, in constant time per part,
// and returns the Mismatch* bits of the parts that differ.
func (st *State) Mismatch(keys *crypto.SandboxKeys, ip, userAgent []byte) uint8 {
	var m uint8
	if st.Flags&FlagBindIP != 0 {
		got := keys.BindIP(BindAddress(ip, st.Flags&FlagBindSubnet != 0))
		if !crypto.VerifierEqual(&got, &st.BoundIP) {
			m |= MismatchIP
		}
	}
	if st.Flags&FlagBindUA != 0 {
		got := keys.BindAgent(userAgent)
		if !crypto.VerifierEqual(&got, &st.BoundUA) {
			m |= MismatchAgent
		}
	}
	return m
}
