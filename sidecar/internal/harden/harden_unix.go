//go:build unix && !linux

package harden

import (
	"os/signal"
	"syscall"
)

func apply() []string {
	var failed []string
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		failed = append(failed, "setrlimit(RLIMIT_CORE, 0): "+err.Error())
	}
	signal.Ignore(syscall.SIGPIPE)
	return append(failed, "no PR_SET_DUMPABLE on this OS: same-user processes may be able to read memory")
}
