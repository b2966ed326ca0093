package server

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// devVersion is what an unstamped build reports (go build without -ldflags -X main.version).
const devVersion = "dev"

// checkHandshake is the sidecar's half of the version check (docs/protocol.md, "Handshake"):
// CONFIGURE must speak this protocol version and come from a client of the package version
// this binary was built as. The client checks HELLO the same way. A development build of the
// sidecar (version "dev" or unset) accepts any client, as does a client that sends no version.
func (s *Server) checkHandshake(req *protocol.Request) error {
	if req.ProtocolVersion != protocol.Version {
		return xerr.New(xerr.VersionMismatch, "client speaks protocol version %d, this sidecar speaks version %d: install matching versions of nestjs-xems and its sidecar",
			req.ProtocolVersion, protocol.Version)
	}
	client := string(req.ClientVersion)
	if s.version == "" || s.version == devVersion || client == "" || client == s.version {
		return nil
	}
	return xerr.New(xerr.VersionMismatch, "client is nestjs-xems %s, this sidecar was built as %s: use the sidecar binary of the installed package (reinstall nestjs-xems, or run \"npx nestjs-xems build-sidecar\")",
		client, s.version)
}
