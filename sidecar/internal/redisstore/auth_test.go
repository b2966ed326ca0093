package redisstore

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// TestHeaderAuthPart: the authentication record is an optional part at the end of the header:
// a header without it (as written before it existed) reads as before, one with it round-trips
// (with and without a history before it), and a missing or extra byte is refused.
func TestHeaderAuthPart(t *testing.T) {
	base := session.State{Flags: session.FlagUser, Gen: 3, Created: 1000, Issued: 2000, AbsExp: 9000, Older: []uint32{5, 6}}
	base.User[0] = 7
	withAuth := base
	withAuth.SetAuth(&session.Auth{At: 1500, Methods: 0b11})
	noHist := withAuth
	noHist.Older = nil
	for _, c := range []struct {
		name string
		st   session.State
	}{{"without", base}, {"with", withAuth}, {"with, no history", noHist}} {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, headerSize(&c.st))
			encodeHeader(&c.st, b)
			got, ok := decodeHeader(b)
			if !ok || got.Auth != c.st.Auth || got.Flags != c.st.Flags || len(got.Older) != len(c.st.Older) {
				t.Fatalf("decoded %+v %v, want %+v", got, ok, c.st)
			}
			if _, ok := decodeHeader(b[:len(b)-1]); ok {
				t.Fatal("a header one byte short was read")
			}
			if _, ok := decodeHeader(append(b, 0)); ok {
				t.Fatal("a header with a trailing byte was read")
			}
		})
	}
	if headerSize(&withAuth) != headerSize(&base)+session.AuthSize {
		t.Fatal("the auth part is not AuthSize bytes")
	}
}
