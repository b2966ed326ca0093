module github.com/nestjs-xems/nestjs-xems/sidecar

// Standard library first: crypto/hkdf (Go 1.24+) is the newest package we need. The one
// third-party module is go-redis (internal/redisstore: the shared Redis/Valkey store), pinned
// to v9.22.0, the newest release whose go.mod still accepts Go 1.24 (docs/sidecar-internals.md).
go 1.24

require github.com/redis/go-redis/v9 v9.22.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
