package endedmsg

import (
	"bytes"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

func TestRoundTripAndRefusals(t *testing.T) {
	one := Message{From: Instance{1}, Reason: 3, Label: crypto.Digest{2}, IDs: []crypto.Digest{{4}}}
	two := Message{From: Instance{5}, Reason: 0, Label: crypto.Digest{6}, IDs: []crypto.Digest{{7}, {8}}}
	for _, m := range []Message{one, two} {
		got, ok := Decode(Encode(&m))
		if !ok || got.From != m.From || got.Reason != m.Reason || got.Label != m.Label || len(got.IDs) != len(m.IDs) || got.IDs[len(m.IDs)-1] != m.IDs[len(m.IDs)-1] {
			t.Fatalf("round trip of %+v gave %+v %v", m, got, ok)
		}
	}
	good := Encode(&one)
	for _, bad := range [][]byte{nil, good[:head], good[:len(good)-1], append(bytes.Clone(good), 0)} {
		if _, ok := Decode(bad); ok {
			t.Fatalf("%d bytes accepted", len(bad))
		}
	}
}

// FuzzEndedDecoder: Decode never panics, and what it accepts re-encodes to the same bytes.
func FuzzEndedDecoder(f *testing.F) {
	f.Add(Encode(&Message{Reason: 1, IDs: []crypto.Digest{{1}}}))
	f.Add([]byte{})
	f.Add(make([]byte, head+15))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := Decode(b)
		if ok && !bytes.Equal(Encode(&m), b) {
			t.Fatalf("re-encoded %x from %x", Encode(&m), b)
		}
	})
}
