//go:build linux

package harden

import (
	"os/signal"
	"syscall"
)

const prSetDumpable = 4 // PR_SET_DUMPABLE from <linux/prctl.h>

func apply() []string {
	var failed []string
	// Not dumpable: no core dump, and same-user processes can no longer ptrace us or read
	// /proc/<pid>/mem, so a compromised sibling process cannot lift keys from memory.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		failed = append(failed, "prctl(PR_SET_DUMPABLE, 0): "+errno.Error())
	}
	// Belt and braces: a zero core size limit.
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		failed = append(failed, "setrlimit(RLIMIT_CORE, 0): "+err.Error())
	}
	// A write to a closed stdout returns EPIPE (handled as "parent gone") instead of killing us.
	signal.Ignore(syscall.SIGPIPE)
	return failed
}
