module github.com/nestjs-xems/nestjs-xems/sidecar

// Standard library only: crypto/hkdf (Go 1.24+) is the newest package we need.
// No third-party modules: nothing here needs one.
go 1.24

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/redis/go-redis/v9 v9.22.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
