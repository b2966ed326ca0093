package redistest

import "syscall"

// dieWithParent: the kernel kills the test's redis-server if the test process dies first.
func dieWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
