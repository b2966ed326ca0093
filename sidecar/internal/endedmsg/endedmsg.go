// Package endedmsg is the message the sidecars sharing a Redis store PUBLISH to each other when
// they end sessions (internal/redisstore/ended.go; docs/protocol.md, "WebSockets"):
//
//	16 bytes  the publishing store's random instance id (a store skips its own messages)
//	1 byte    the reason (protocol.Ended*)
//	16 bytes  the sandbox's keyed label (never the sandbox name, as in the keys)
//	n x 16    the ended sessions' ids (n >= 1)
//
// Anyone who can PUBLISH on the channel can send one: Decode checks the layout and nothing else.
package endedmsg

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"

// Instance identifies the store that published a message.
type Instance [16]byte

// Message is one announcement.
type Message struct {
	From   Instance
	Reason uint8
	Label  crypto.Digest
	IDs    []crypto.Digest
}

const head = len(Instance{}) + 1 + len(crypto.Digest{})

// Encode returns m's bytes.
func Encode(m *Message) []byte {
	b := make([]byte, 0, head+len(m.IDs)*len(crypto.Digest{}))
	b = append(b, m.From[:]...)
	b = append(b, m.Reason)
	b = append(b, m.Label[:]...)
	for i := range m.IDs {
		b = append(b, m.IDs[i][:]...)
	}
	return b
}

// Decode parses a message; ok is false for anything but the layout above with at least one id.
func Decode(b []byte) (m Message, ok bool) {
	var d crypto.Digest
	if len(b) < head+len(d) || (len(b)-head)%len(d) != 0 {
		return m, false
	}
	copy(m.From[:], b)
	m.Reason = b[len(m.From)]
	copy(m.Label[:], b[len(m.From)+1:])
	for rest := b[head:]; len(rest) > 0; rest = rest[len(d):] {
		copy(d[:], rest)
		m.IDs = append(m.IDs, d)
	}
	return m, true
}
