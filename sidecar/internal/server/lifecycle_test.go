package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func TestShutdownFinishesInFlight(t *testing.T) {
	h := start(t, "{}")
	h.c.Send(10, opTestSleep, U32(200))
	h.c.Send(11, protocol.OpShutdown)
	h.c.Send(12, protocol.OpPing)
	got := map[uint32]Reply{}
	var order []uint32
	for len(got) < 3 {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r
		order = append(order, r.ID)
	}
	if got[10].Status != protocol.StatusOK || got[11].Status != protocol.StatusOK {
		t.Fatal("in-flight request or SHUTDOWN failed")
	}
	h.wantError(got[12], xerr.ShuttingDown, "shutting down")
	if order[2] != 11 {
		t.Fatalf("SHUTDOWN answered before the request in flight: %v", order)
	}
	if code := h.waitExit(time.Second); code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
}

func TestExitPaths(t *testing.T) {
	cases := []struct {
		name string
		send []byte
		code int
		log  string
	}{
		{"stdin EOF", nil, ExitOK, "stdin closed"},
		{"short frame", Frame([]byte{1, 0, 0, 0}), ExitProtocol, "shorter than 5"},
		{"truncated frame", Frame(Payload(5, protocol.OpPing))[:7], ExitProtocol, "truncated"},
		{"request id 0", Frame(Payload(0, protocol.OpPing)), ExitProtocol, "id 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, "{}")
			h.c.Raw(c.send)
			h.stdin.Close()
			if code := h.waitExit(time.Second); code != c.code {
				t.Fatalf("exit code %d, want %d", code, c.code)
			}
			if !strings.Contains(h.logs.String(), c.log) {
				t.Fatalf("log lacks %q: %s", c.log, h.logs.String())
			}
		})
	}
	t.Run("EOF with a request in flight exits promptly", func(t *testing.T) {
		h := start(t, "{}")
		h.c.Send(9, opTestSleep, U32(5000))
		time.Sleep(20 * time.Millisecond)
		began := time.Now()
		h.stdin.Close()
		h.waitExit(time.Second)
		if d := time.Since(began); d > time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("Stop", func(t *testing.T) {
		h := start(t, "{}")
		h.server.Stop(ExitOK)
		if code := h.waitExit(time.Second); code != ExitOK {
			t.Fatalf("exit code %d", code)
		}
	})
}

func TestLogsAreJSONLines(t *testing.T) {
	h := start(t, `{"logLevel":"debug"}`)
	h.call(2, protocol.OpPing)
	h.stdin.Close()
	h.waitExit(time.Second)
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
	}
}

// TestPipelinedConcurrentClients: many requests written back to back, each answered once.
func TestPipelined(t *testing.T) {
	h := start(t, "{}")
	const n = 3000
	go func() {
		for i := 1; i <= n; i++ {
			id := uint32(100 + i)
			switch i % 3 {
			case 0:
				h.c.Send(id, protocol.OpKVSet, Str("p"), BytesS(string(rune('a'+i%26))+"-key"), BytesS("value"), U64(60_000))
			case 1:
				h.c.Send(id, protocol.OpPing)
			case 2:
				h.c.Send(id, protocol.OpSCreate, Str("p"), BytesS("d"), U64(60_000), U64(0), Str(""), BytesS(""))
			}
		}
	}()
	seen := map[uint32]bool{}
	for len(seen) < n {
		r, err := h.c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != protocol.StatusOK || r.ID <= 100 || r.ID > 100+n || seen[r.ID] {
			t.Fatalf("bad or duplicate reply %+v", r)
		}
		seen[r.ID] = true
	}
}
