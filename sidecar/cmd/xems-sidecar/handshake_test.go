package main

// The sidecar's half of the version check, against real binaries built with different
// -ldflags "-X main.version=..." (the module's half is test/sidecar-handshake.e2e-spec.ts).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// devBinary is the sidecar built without a version (go build with no -ldflags): "dev".
func devBinary(t *testing.T) string { return buildBinary(t, "dev") }

func TestMainVersionCheck(t *testing.T) {
	t.Run("a stamped sidecar refuses a client of another version, naming both", func(t *testing.T) {
		ch, build := spawnAt(t, binary(t))
		if !strings.HasPrefix(build, "9.9.9-test+go") {
			t.Fatalf("HELLO build version %q", build)
		}
		r, err := ch.c.Call(1, protocol.OpConfigure, ConfigureAs(1, protocol.Version, "0.1.0", `{}`)...)
		if err != nil || r.Status != protocol.StatusError {
			t.Fatalf("CONFIGURE from 0.1.0: %+v %v", r, err)
		}
		code, msg := r.Err()
		if xerr.Code(code) != xerr.VersionMismatch || !strings.Contains(msg, "0.1.0") || !strings.Contains(msg, "9.9.9-test") || !strings.Contains(msg, "build-sidecar") {
			t.Fatalf("refusal %v %q", xerr.Code(code), msg)
		}
		// Still unconfigured: a client of the right version may configure it.
		if r, _ := ch.c.Call(2, protocol.OpPing); r.Status != protocol.StatusError {
			t.Fatalf("PING after the refused CONFIGURE: %+v", r)
		}
		if r, err := ch.c.Call(3, protocol.OpConfigure, ConfigureAs(3, protocol.Version, "9.9.9-test", `{}`)...); err != nil || r.Status != protocol.StatusOK {
			t.Fatalf("CONFIGURE from 9.9.9-test: %+v %v", r, err)
		}
	})
	t.Run("a dev build accepts any client", func(t *testing.T) {
		ch, build := spawnAt(t, devBinary(t))
		if !strings.HasPrefix(build, "dev+go") {
			t.Fatalf("HELLO build version of an unstamped build %q", build)
		}
		if r, err := ch.c.Call(1, protocol.OpConfigure, ConfigureAs(1, protocol.Version, "0.1.0", `{}`)...); err != nil || r.Status != protocol.StatusOK {
			t.Fatalf("CONFIGURE: %+v %v", r, err)
		}
	})
	t.Run("another protocol version is refused before the package version is compared", func(t *testing.T) {
		ch, _ := spawnAt(t, binary(t))
		r, _ := ch.c.Call(1, protocol.OpConfigure, ConfigureAs(1, protocol.Version+1, "9.9.9-test", `{}`)...)
		if code, msg := r.Err(); r.Status != protocol.StatusError || xerr.Code(code) != xerr.VersionMismatch || !strings.Contains(msg, fmt.Sprintf("protocol version %d", protocol.Version+1)) {
			t.Fatalf("refusal %+v %q", r, msg)
		}
	})
}
