//go:build !linux

package redistest

import "syscall"

// dieWithParent: Pdeathsig is Linux-only; elsewhere the test's cleanup stops redis-server.
func dieWithParent() *syscall.SysProcAttr { return nil }
