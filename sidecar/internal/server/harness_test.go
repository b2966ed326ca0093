package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// The test harness: a server over pipes driven by the wiretest client, and test-only ops.

// Test-only ops handled through the debugOp hook.
const (
	opTestSleep = 0x7D // u32 ms
	opTestPanic = 0x7E
)

func init() {
	debugOp = func(p []byte) ([]byte, bool) {
		id, op := protocol.PeekHeader(p)
		switch op {
		case opTestSleep:
			time.Sleep(time.Duration(binary.LittleEndian.Uint32(p[protocol.RequestHeaderSize:])) * time.Millisecond)
			return protocol.SimpleReply(id, protocol.StatusOK), true
		case opTestPanic:
			panic("deliberate test panic")
		}
		return nil, false
	}
}

type harness struct {
	t      *testing.T
	c      *Client
	stdin  *io.PipeWriter
	exit   chan int
	logs   *syncBuffer
	hello  Reply
	server *Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a server over pipes; configure (if not "") is sent as CONFIGURE id 1.
func start(t *testing.T, configJSON string, secrets ...[]byte) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	// stdout is a kernel pipe, as in production: its buffer lets the read loop write an inline
	// reply while the test is still writing its next request (io.Pipe has no buffer).
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	srv := New(Options{In: inR, Out: outW, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
		Level: level, BuildVersion: "test+go"})
	h := &harness{t: t, c: New2(inW, outR), stdin: inW, exit: make(chan int, 1), logs: logs, server: srv}
	go func() { h.exit <- srv.Run(); outW.Close() }()
	if h.hello, err = h.c.Read(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		inW.Close()
		go io.Copy(io.Discard, outR)
		select {
		case <-h.exit:
		case <-time.After(2 * time.Second):
			t.Error("server did not exit after stdin closed")
		}
	})
	if configJSON != "" {
		r, err := h.c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, configJSON, secrets...)...)
		if err != nil || r.Status != protocol.StatusOK {
			code, msg := r.Err()
			t.Fatalf("CONFIGURE failed: %v %d %s", err, code, msg)
		}
	}
	return h
}

// New2 avoids the name clash between wiretest.New and server.New under the dot import.
func New2(w io.Writer, r io.Reader) *Client { return NewClient(w, r) }

func (h *harness) call(id uint32, op protocol.Op, fields ...[]byte) Reply {
	h.t.Helper()
	r, err := h.c.Call(id, op, fields...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) wantError(r Reply, code xerr.Code, msgPart string) {
	h.t.Helper()
	if r.Status != protocol.StatusError {
		h.t.Fatalf("status %d, want ERROR %v", r.Status, code)
	}
	got, msg := r.Err()
	if xerr.Code(got) != code || !strings.Contains(msg, msgPart) {
		h.t.Fatalf("error %v %q, want %v containing %q", xerr.Code(got), msg, code, msgPart)
	}
}

func (h *harness) waitExit(within time.Duration) int {
	h.t.Helper()
	select {
	case code := <-h.exit:
		h.exit <- code // for Cleanup
		return code
	case <-time.After(within):
		h.t.Fatalf("server did not exit within %v", within)
	}
	return -1
}

func wantU8(t *testing.T, d *protocol.Decoder, want uint8) {
	t.Helper()
	if got := d.U8("u8"); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
}
