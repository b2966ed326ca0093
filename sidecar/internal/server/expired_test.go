package server

import (
	"strings"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
)

// TestExpiredFramesReportEveryExpiredSession: with expiryEvents, every session removed because
// it expired (on a read, or by the expirer) is reported once in EXPIRED frames (id 0), each
// within maxFrameSize; SHUTDOWN sends the backlog before its reply.
func TestExpiredFramesReportEveryExpiredSession(t *testing.T) {
	h := start(t, `{"maxFrameSize":4096,"expiryEvents":true}`)
	sb := Str("app")
	got := map[string]int{}
	// call reads frames until the reply to id, collecting the EXPIRED frames met on the way.
	call := func(id uint32, op protocol.Op, fields ...[]byte) Reply {
		t.Helper()
		if err := h.c.Send(id, op, fields...); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := h.c.Read()
			if err != nil {
				t.Fatal(err)
			}
			if f.ID == id {
				return f
			}
			if f.ID != 0 || f.Status != protocol.FrameKindExpired {
				t.Fatalf("unexpected frame id %d status %d", f.ID, f.Status)
			}
			if len(f.Body)+5 > 4096 {
				t.Fatalf("EXPIRED frame of %d bytes over maxFrameSize", len(f.Body)+5)
			}
			d := f.D()
			if s := d.Str("sandbox"); string(s) != "app" {
				t.Fatalf("sandbox %q", s)
			}
			n := d.U32("n")
			for i := uint32(0); i < n; i++ {
				got[string(d.Str("id"))]++
			}
			if field, why, ok := d.Err(); !ok {
				t.Fatalf("EXPIRED body: %s %s", field, why)
			}
		}
	}
	want := map[string]bool{}
	var first string
	for i := 0; i < 400; i++ {
		d := call(uint32(10+i), protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS("")).D()
		tok := string(d.Str("token"))
		want[string(d.Str("sid"))] = true
		if i == 0 {
			first = tok
		}
	}
	call(999, protocol.OpSCreate, sb, BytesS("d"), U64(600_000), U64(0), Str(""), BytesS("")) // stays live: never reported
	time.Sleep(5 * time.Millisecond)
	if r := call(1000, protocol.OpSResolve, sb, Str(first), U8(0), U64(0), U64(0)); r.Status != protocol.StatusNotFound {
		t.Fatal("an expired session resolved")
	}
	for i := uint32(0); len(got) < len(want) && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		call(2000+i, protocol.OpPing)
	}
	if len(got) != len(want) {
		t.Fatalf("%d of %d expirations reported", len(got), len(want))
	}
	for id, n := range got {
		if !want[id] || n != 1 {
			t.Fatalf("id %s reported %d times (expected: %v)", id, n, want[id])
		}
	}
	// SHUTDOWN: a session expiring just before is reported before the SHUTDOWN reply.
	tok := string(call(3000, protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS("")).D().Str("token"))
	time.Sleep(5 * time.Millisecond)
	if err := h.c.Send(3001, protocol.OpSResolve, sb, Str(tok), U8(0), U64(0), U64(0)); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Send(3002, protocol.OpShutdown); err != nil {
		t.Fatal(err)
	}
	var order []string
	for len(order) == 0 || order[len(order)-1] != "shutdown" {
		f, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.ID == 0:
			order = append(order, "expired")
		case f.ID == 3001:
			order = append(order, "resolve")
		case f.ID == 3002:
			order = append(order, "shutdown")
		}
	}
	// (The expirer may have reported it before the resolve met it: either way, once, and before
	// the SHUTDOWN reply.)
	if o := strings.Join(order, ","); o != "resolve,expired,shutdown" && o != "expired,resolve,shutdown" {
		t.Fatalf("frame order %v", order)
	}
}

func TestNoExpiredFramesByDefault(t *testing.T) {
	h := start(t, `{}`)
	sb := Str("app")
	r := h.call(2, protocol.OpSCreate, sb, BytesS("d"), U64(1), U64(0), Str(""), BytesS(""))
	tok := string(r.D().Str("token"))
	time.Sleep(5 * time.Millisecond)
	h.call(3, protocol.OpSResolve, sb, Str(tok), U8(0), U64(0), U64(0))
	time.Sleep(400 * time.Millisecond) // longer than the reporter's flush interval
	if r := h.call(4, protocol.OpPing); r.ID != 4 {
		t.Fatal("an unsolicited frame arrived")
	}
}
