module github.com/nestjs-xems/nestjs-xems/sidecar

// Standard library only: crypto/hkdf (Go 1.24+) is the newest package we need.
// No third-party modules: nothing here needs one.
go 1.24
