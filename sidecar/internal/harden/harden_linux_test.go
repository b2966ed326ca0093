//go:build linux

package harden

import (
	"syscall"
	"testing"
)

const prGetDumpable = 3

func TestApplyMakesTheProcessNonDumpable(t *testing.T) {
	if failed := Apply(); len(failed) != 0 {
		t.Fatalf("hardening failed: %v", failed)
	}
	v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0)
	if errno != 0 || v != 0 {
		t.Fatalf("PR_GET_DUMPABLE = %d (errno %v), want 0", v, errno)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &rl); err != nil || rl.Cur != 0 {
		t.Fatalf("RLIMIT_CORE = %+v, %v", rl, err)
	}
}
