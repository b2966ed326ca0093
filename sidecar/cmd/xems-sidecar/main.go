// Command xems-sidecar keeps nestjs-xems sessions and secrets encrypted in memory. The NestJS
// module starts it as a child process and talks to it over stdin/stdout with the protocol of
// docs/protocol.md. It opens no socket and reads no secret from argv or the environment.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/harden"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/logging"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/server"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vaulttool"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3" (the package version
// of nestjs-xems). The handshake compares it with the module's version both ways; an unstamped
// build says "dev" and is accepted by any module (with a warning there).
var version = "dev"

// gcPercent: the store is a large, long-lived heap, and the default GOGC=100 would let the
// process grow to twice its live data before collecting. At 10 the overshoot is a tenth, which
// is what keeps 1 M sessions within 1.2x of Redis (docs/protocol.md, "Memory"). Collections
// stay cheap at this rate because records live in pointer-free arena chunks and pointer-free
// maps: the collector has almost nothing to scan, only the short-lived request garbage to free.
const gcPercent = 10

func main() {
	build := version + "+" + runtime.Version()
	if len(os.Args) > 1 {
		if os.Args[1] == "--version" || os.Args[1] == "-version" {
			fmt.Println(build)
			return
		}
		if os.Args[1] == "vault" {
			// The offline vault tool (npx nestjs-xems vault verify|rekey): secrets on stdin.
			harden.Apply()
			os.Exit(vaulttool.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
		}
		fmt.Fprintln(os.Stderr, "xems-sidecar takes no arguments (configuration arrives over stdin); usage: xems-sidecar [--version]")
		os.Exit(2)
	}
	level := new(slog.LevelVar)
	log := logging.New(os.Stderr, level)
	for _, f := range harden.Apply() {
		log.Warn("process hardening incomplete", "detail", f)
	}
	debug.SetGCPercent(gcPercent)

	srv := server.New(server.Options{In: os.Stdin, Out: os.Stdout, Logger: log, Level: level, BuildVersion: build, Version: version, LimitProcs: true})

	// The parent owns our lifecycle: Ctrl+C in a terminal reaches the whole process group, and
	// the parent may still need us while it shuts down, so SIGINT is ignored (stdin EOF or
	// SHUTDOWN end us). SIGTERM is an explicit request: exit promptly, wiping keys.
	signal.Ignore(os.Interrupt)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		log.Info("SIGTERM: exiting")
		srv.Stop(server.ExitOK)
	}()

	os.Exit(srv.Run())
}
