package server

import (
	"bytes"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
)

func TestInlineOp(t *testing.T) {
	for _, tc := range []struct {
		op   protocol.Op
		want bool
	}{
		{protocol.OpSResolve, true}, {protocol.OpKVGet, true}, {protocol.OpKVSet, true}, {protocol.OpSCreate, true},
		{protocol.OpPing, true}, {protocol.OpKVScan, false}, {protocol.OpClear, false}, {protocol.OpSList, false},
		{protocol.OpSRevokeAll, false}, {protocol.OpStats, false}, {protocol.OpConfigure, false},
		{protocol.OpShutdown, false}, {opTestSleep, false}, {0x7F, false},
	} {
		if got := inlineOp(tc.op); got != tc.want {
			t.Errorf("inlineOp(%v) = %v, want %v", tc.op, got, tc.want)
		}
	}
}

// One request at a time: every one is handled in the read loop.
func TestInlineWhenNothingElseWaits(t *testing.T) {
	h := start(t, "{}")
	for i := uint32(10); i < 30; i++ {
		if r := h.call(i, protocol.OpPing); r.Status != protocol.StatusOK || r.ID != i {
			t.Fatalf("ping %d: status %d id %d", i, r.Status, r.ID)
		}
	}
	if n := h.server.inlineCount.Load(); n != 20 {
		t.Fatalf("%d of 20 lone requests handled inline", n)
	}
}

// A burst arriving in one write is a backlog: the workers take it (at most the last frame, read
// when the buffer is empty and no frame is queued, may run inline), and every reply comes back.
func TestBacklogGoesToWorkers(t *testing.T) {
	h := start(t, "{}")
	var batch bytes.Buffer
	const n = 64
	for i := uint32(100); i < 100+n; i++ {
		batch.Write(Frame(Payload(i, protocol.OpPing)))
	}
	if err := h.c.Raw(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for len(seen) < n {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != protocol.StatusOK || r.ID < 100 || r.ID >= 100+n || seen[r.ID] {
			t.Fatalf("unexpected reply id %d status %d", r.ID, r.Status)
		}
		seen[r.ID] = true
	}
	if got := h.server.inlineCount.Load(); got > 1 {
		t.Fatalf("%d requests of a %d-frame burst ran inline, want at most 1", got, n)
	}
}

// A slow request never runs inline, and a cheap one arriving while it runs is answered first.
func TestInlineWhileWorkerBusy(t *testing.T) {
	h := start(t, "{}")
	h.c.Send(10, opTestSleep, U32(300))
	h.c.Send(11, protocol.OpPing)
	first, _ := h.c.Read()
	second, _ := h.c.Read()
	if first.ID != 11 || second.ID != 10 {
		t.Fatalf("replies in order %d, %d: want the fast one first", first.ID, second.ID)
	}
	if n := h.server.inlineCount.Load(); n != 1 {
		t.Fatalf("inline count %d, want 1 (the ping only)", n)
	}
}
