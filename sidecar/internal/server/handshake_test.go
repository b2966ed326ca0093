package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func TestCheckHandshake(t *testing.T) {
	cases := []struct {
		sidecar, client string
		protocolVersion uint16
		refused         bool
		mentions        []string
	}{
		{"1.2.3", "1.2.3", protocol.Version, false, nil},
		{"1.2.3", "1.2.4", protocol.Version, true, []string{"1.2.3", "1.2.4"}},
		{"1.2.3", "", protocol.Version, false, nil}, // a client that does not know its version
		{"dev", "1.2.4", protocol.Version, false, nil},
		{"", "1.2.4", protocol.Version, false, nil},
		{"1.2.3", "1.2.3", protocol.Version - 1, true, []string{fmt.Sprintf("protocol version %d", protocol.Version-1)}},
	}
	for _, c := range cases {
		s := &Server{version: c.sidecar}
		err := s.checkHandshake(&protocol.Request{Op: protocol.OpConfigure, ProtocolVersion: c.protocolVersion, ClientVersion: []byte(c.client)})
		if (err != nil) != c.refused {
			t.Fatalf("sidecar %q, client %q v%d: %v", c.sidecar, c.client, c.protocolVersion, err)
		}
		if err == nil {
			continue
		}
		xe := err.(*xerr.Error)
		if xe.Code != xerr.VersionMismatch {
			t.Fatalf("code %v", xe.Code)
		}
		for _, m := range c.mentions {
			if !strings.Contains(xe.Msg, m) {
				t.Fatalf("%q does not mention %q", xe.Msg, m)
			}
		}
	}
}
