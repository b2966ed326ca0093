//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// TestStalledSidecarDropsExpiredRequests: requests that wait in the pipe while the sidecar is
// stopped (SIGSTOP, as a stalled process) and whose deadline passes meanwhile are refused
// unapplied once it resumes; requests without a deadline or still in time are applied.
func TestStalledSidecarDropsExpiredRequests(t *testing.T) {
	ch := spawn(t, true)
	sb := Str("stall")
	set := func(id uint32, key string, deadline int64) []byte {
		return Frame(PayloadDeadline(id, protocol.OpKVSet, deadline, sb, BytesS(key), BytesS("v"), U64(60_000)))
	}
	if err := ch.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, ch.cmd.Process.Pid)
	stopped := true
	defer func() {
		if stopped {
			ch.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	now := time.Now().UnixMilli()
	var frames []byte
	frames = append(frames, set(10, "late", now+150)...)
	frames = append(frames, set(11, "none", 0)...)
	frames = append(frames, set(12, "in-time", now+60_000)...)
	if err := ch.c.Raw(frames); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if err := ch.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	got := map[uint32]Reply{}
	for len(got) < 3 {
		r, err := ch.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r
	}
	if code, msg := got[10].Err(); got[10].Status != protocol.StatusError || xerr.Code(code) != xerr.DeadlineExceeded {
		t.Fatalf("late request: %+v %q", got[10], msg)
	}
	if got[11].Status != protocol.StatusOK || got[12].Status != protocol.StatusOK {
		t.Fatalf("requests in time: %+v %+v", got[11], got[12])
	}
	for id, key := range map[uint32]string{20: "late", 21: "none", 22: "in-time"} {
		r, err := ch.c.Call(id, protocol.OpKVGet, sb, BytesS(key))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]protocol.Status{"late": protocol.StatusNotFound}[key]; r.Status != want {
			t.Fatalf("KV_GET %s: status %v, want %v (the late KV_SET must not have been applied)", key, r.Status, want)
		}
	}
}

// waitStopped waits until every thread of pid is stopped: SIGSTOP takes effect thread by thread,
// and a thread still running could read and answer a request sent meanwhile.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob(filepath.Join("/proc", fmt.Sprint(pid), "task", "*", "stat"))
		all := len(stats) > 0
		for _, f := range stats {
			b, err := os.ReadFile(f)
			state := ""
			if i := strings.LastIndexByte(string(b), ')'); err == nil && i+2 < len(b) {
				state = string(b[i+2])
			}
			all = all && (state == "T" || state == "t")
		}
		if all {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("pid %d not stopped after SIGSTOP", pid)
}
