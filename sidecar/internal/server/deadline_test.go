package server

import (
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

type fixedClock int64

func (c fixedClock) NowMs() int64 { return int64(c) }

// TestCheckDeadline: a passed deadline is refused; one still ahead is carried over into the
// server's clock (which may differ from the wall clock), keeping the time left.
func TestCheckDeadline(t *testing.T) {
	s := &Server{clock: fixedClock(1_000)}
	now := time.Now().UnixMilli()

	req := protocol.Request{Op: protocol.OpKVSet, Deadline: now - 5}
	if err := s.checkDeadline(&req); err == nil || err.(*xerr.Error).Code != xerr.DeadlineExceeded {
		t.Fatalf("passed deadline: %v", err)
	}
	req = protocol.Request{Op: protocol.OpKVSet, Deadline: now + 60_000}
	if err := s.checkDeadline(&req); err != nil {
		t.Fatal(err)
	}
	if req.Deadline < 1_000+59_000 || req.Deadline > 1_000+60_000 {
		t.Fatalf("deadline in the server's clock %d, want about %d", req.Deadline, 1_000+60_000)
	}
	req = protocol.Request{Op: protocol.OpKVSet}
	if err := s.checkDeadline(&req); err != nil || req.Deadline != 0 {
		t.Fatalf("no deadline: %d, %v", req.Deadline, err)
	}
}

// TestDeadlineRefusedUnapplied: over the wire, inline and on a worker, a request past its
// deadline gets ERROR DEADLINE_EXCEEDED and changes nothing; SHUTDOWN ignores its deadline.
func TestDeadlineRefusedUnapplied(t *testing.T) {
	h := start(t, "{}")
	sb := Str("dl")
	past := time.Now().UnixMilli() - 1
	late := func(id uint32, op protocol.Op, fields ...[]byte) Reply {
		t.Helper()
		if err := h.c.Raw(Frame(PayloadDeadline(id, op, past, fields...))); err != nil {
			t.Fatal(err)
		}
		r, err := h.c.Read()
		if err != nil || r.ID != id {
			t.Fatalf("reply %+v %v", r, err)
		}
		return r
	}
	h.wantError(late(2, protocol.OpKVSet, sb, BytesS("k"), BytesS("v"), U64(60_000)), xerr.DeadlineExceeded, "KV_SET")
	if r := h.call(3, protocol.OpKVGet, sb, BytesS("k")); r.Status != protocol.StatusNotFound {
		t.Fatalf("the late KV_SET was applied: %+v", r)
	}
	h.call(4, protocol.OpKVSet, sb, BytesS("k"), BytesS("v"), U64(60_000))
	h.wantError(late(5, protocol.OpClear, sb), xerr.DeadlineExceeded, "CLEAR") // a worker op
	if r := h.call(6, protocol.OpKVGet, sb, BytesS("k")); r.Status != protocol.StatusOK {
		t.Fatalf("the late CLEAR was applied: %+v", r)
	}
	if err := h.c.Raw(Frame(PayloadDeadline(7, protocol.OpKVSet, time.Now().UnixMilli()+60_000, sb, BytesS("k2"), BytesS("v"), U64(60_000)))); err != nil {
		t.Fatal(err)
	}
	if r, _ := h.c.Read(); r.ID != 7 || r.Status != protocol.StatusOK {
		t.Fatalf("a request in time: %+v", r)
	}
	if r := late(8, protocol.OpShutdown); r.Status != protocol.StatusOK || len(r.Body) != 0 {
		t.Fatalf("SHUTDOWN with a passed deadline: %+v", r)
	}
}
