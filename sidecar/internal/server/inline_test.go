package server

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

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

// A burst arriving in one write runs inline, and its replies leave together: one write per
// inlineFlushEvery replies (plus the end of the burst), not one per reply.
func TestBurstRunsInlineAndRepliesTogether(t *testing.T) {
	h := start(t, "{}")
	flushesBefore := h.server.flushCount.Load()
	var batch bytes.Buffer
	const n = 64
	for i := uint32(100); i < 100+n; i++ {
		batch.Write(Frame(Payload(i, protocol.OpPing)))
	}
	if err := h.c.Raw(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	for want := uint32(100); want < 100+n; want++ {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != protocol.StatusOK || r.ID != want {
			t.Fatalf("reply id %d status %d, want id %d OK (inline replies keep the burst's order)", r.ID, r.Status, want)
		}
	}
	if got := h.server.inlineCount.Load(); got != n {
		t.Fatalf("%d of a %d-frame burst ran inline, want all", got, n)
	}
	// At least one write per inlineFlushEvery replies: the first replies of a long burst are
	// not held back while the rest run.
	if got, least, most := h.server.flushCount.Load()-flushesBefore, uint64(n/inlineFlushEvery), uint64(n/inlineFlushEvery+1); got < least || got > most {
		t.Fatalf("the burst's replies took %d writes, want %d..%d", got, least, most)
	}
}

// Inline replies waiting for the end of a burst go out before a request is handed to a worker:
// a slow request behind them never holds them back.
func TestInlineRepliesNotHeldBehindWorker(t *testing.T) {
	h := start(t, "{}")
	var batch bytes.Buffer
	batch.Write(Frame(Payload(10, protocol.OpPing)))
	batch.Write(Frame(Payload(11, opTestSleep, U32(2000))))
	if err := h.c.Raw(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	got := make(chan Reply, 1)
	go func() {
		r, _ := h.c.Read()
		got <- r
		h.c.Read() // the sleeper's reply, so the server can drain at exit
	}()
	select {
	case r := <-got:
		if r.ID != 10 || r.Status != protocol.StatusOK {
			t.Fatalf("first reply id %d status %d, want the ping (10)", r.ID, r.Status)
		}
	case <-time.After(1500 * time.Millisecond):
		t.Fatal("the ping's reply waited for the slow request behind it")
	}
}

// A slow request never runs inline, and a cheap one arriving while it runs is answered first:
// replies go out of order, matched by id.
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

// Replies that workers finish together leave in one write: the writer yields before it drains
// its queue, so the goroutines readied with the first reply's sender queue theirs first. On one
// processor (the sidecar on Redis) the order is the scheduler's, not the test's timing: without
// the yield every reply here took a write of its own.
func TestWorkerRepliesFinishedTogetherShareAWrite(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := start(t, "{}")
	const n = 32
	gate := make(chan struct{})
	var ready sync.WaitGroup
	for i := uint32(0); i < n; i++ {
		ready.Add(1)
		go func(id uint32) {
			ready.Done()
			<-gate
			h.server.send(protocol.FinishFrame(protocol.BeginReply(nil, id, protocol.StatusOK), 0))
		}(200 + i)
	}
	ready.Wait()
	flushesBefore := h.server.flushCount.Load()
	close(gate)
	seen := map[uint32]bool{}
	for range n {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		seen[r.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct replies of %d", len(seen), n)
	}
	if got := h.server.flushCount.Load() - flushesBefore; got > 4 {
		t.Fatalf("%d writes for %d replies finished together, want at most 4", got, n)
	}
}
