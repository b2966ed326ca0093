package main

// These tests build the real binary (with the test-only DEBUG_SLEEP op, build tag xemsdebug)
// and talk to it as a child process over its stdin and stdout, as the NestJS module does.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

const opDebugSleep = protocol.Op(0x7F)

// A build of the binary, made once per test run.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	builds   sync.Map // name -> *build
	buildDir string
	dirOnce  sync.Once
)

// buildBinary builds the sidecar once under name with the given go build flags.
func buildBinary(t *testing.T, name string, flags ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dirOnce.Do(func() { buildDir, b.err = os.MkdirTemp("", "xems-sidecar-test") })
		if buildDir == "" {
			b.err = fmt.Errorf("no temporary directory for the builds: %v", b.err)
			return
		}
		b.path = filepath.Join(buildDir, name, "xems-sidecar")
		args := append(append([]string{"build"}, flags...), "-o", b.path, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// binary is the sidecar with the test-only DEBUG_SLEEP op, stamped as version 9.9.9-test.
func binary(t *testing.T) string {
	return buildBinary(t, "test", "-tags", "xemsdebug", "-ldflags", "-X main.version=9.9.9-test")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	c      *Client
	stderr *bytes.Buffer
	done   chan error
	mu     sync.Mutex
}

var masterKey = []byte("0123456789abcdef0123456789ABCDEF")

// spawn starts the binary, checks HELLO and, if configure is set, configures it.
func spawn(t *testing.T, configure bool) *child {
	t.Helper()
	ch, build := spawnAt(t, binary(t))
	if !strings.HasPrefix(build, "9.9.9-test+go") {
		t.Fatalf("HELLO build version %q", build)
	}
	if configure {
		r, err := ch.c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, `{"logLevel":"debug"}`, []byte("masterKey"), masterKey)...)
		if err != nil || r.Status != protocol.StatusOK {
			t.Fatalf("CONFIGURE: %+v %v", r, err)
		}
	}
	return ch
}

// spawnAt starts the binary at path and reads its HELLO; it returns the build version HELLO
// reports.
func spawnAt(t *testing.T, path string) (*child, string) {
	t.Helper()
	cmd := exec.Command(path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch := &child{t: t, cmd: cmd, stdin: stdin, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{&ch.mu, ch.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ch.done <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-ch.done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			t.Error("child still running 3 s after stdin closed")
		}
	})
	ch.c = NewClient(stdin, stdout)
	hello, err := ch.c.Read()
	if err != nil || hello.ID != 0 || hello.Status != protocol.FrameKindHello {
		t.Fatalf("first frame is not HELLO: %+v %v", hello, err)
	}
	d := hello.D()
	if v := d.U16("v"); v != protocol.Version {
		t.Fatalf("HELLO protocol version %d", v)
	}
	build := string(d.Str("build"))
	if err := protocol.CheckSidecarFrame(protocol.FrameKindHello, hello.Body); err != nil {
		t.Fatal(err)
	}
	return ch, build
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (ch *child) logs() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.stderr.String()
}

// wait waits for the child to exit and returns its exit code.
func (ch *child) wait(within time.Duration) int {
	ch.t.Helper()
	select {
	case err := <-ch.done:
		ch.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			ch.t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		ch.t.Fatalf("child did not exit within %v", within)
	}
	return -1
}

func TestVersionFlagAndNoArguments(t *testing.T) {
	out, err := exec.Command(binary(t), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "9.9.9-test+go") {
		t.Fatalf("--version: %q %v", out, err)
	}
	err = exec.Command(binary(t), "--master-key=oops").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("unexpected arguments accepted: %v", err)
	}
}

// TestPipelinedOutOfOrder writes thousands of mixed requests without waiting, with slow
// requests first: every id gets exactly one correct reply, and fast replies overtake slow ones.
func TestPipelinedOutOfOrder(t *testing.T) {
	ch := spawn(t, true)
	const n = 6000
	type expect struct {
		status protocol.Status
		check  func(Reply) bool
	}
	want := make(map[uint32]expect, n)
	var reqs bytes.Buffer
	add := func(id uint32, op protocol.Op, e expect, fields ...[]byte) {
		reqs.Write(Frame(Payload(id, op, fields...)))
		want[id] = e
	}
	okStatus := expect{status: protocol.StatusOK}
	for i := uint32(1); i <= 3; i++ {
		add(1000+i, opDebugSleep, okStatus, U32(150))
	}
	sb := Str("pipe")
	for i := uint32(0); i < n; i++ {
		id := 2000 + i
		key := BytesS(fmt.Sprintf("key-%d", i%500))
		switch i % 5 {
		case 0:
			add(id, protocol.OpKVSet, okStatus, sb, key, BytesS(fmt.Sprintf("value-%d", i%500)), U64(60_000))
		case 1:
			add(id, protocol.OpPing, okStatus)
		case 2:
			add(id, protocol.OpSCreate, expect{status: protocol.StatusOK, check: func(r Reply) bool {
				return len(r.D().Str("token")) == 70
			}}, sb, BytesS("data"), U64(60_000), U64(0), Str("u"), BytesS(""))
		case 3:
			add(id, protocol.OpKVHas, okStatus, sb, key)
		case 4:
			add(id, protocol.OpSResolve, expect{status: protocol.StatusNotFound}, sb, Str("not-a-token"), U8(1), U64(2000), U64(0))
		}
	}
	go func() { ch.stdin.Write(reqs.Bytes()) }()
	position := map[uint32]int{}
	for i := 0; i < len(want); i++ {
		r, err := ch.c.Read()
		if err != nil {
			t.Fatalf("after %d replies: %v\n%s", i, err, ch.logs())
		}
		e, ok := want[r.ID]
		if !ok {
			t.Fatalf("reply for unknown id %d", r.ID)
		}
		if _, dup := position[r.ID]; dup {
			t.Fatalf("two replies for id %d", r.ID)
		}
		position[r.ID] = i
		if r.Status != e.status || (e.check != nil && !e.check(r)) {
			code, msg := r.Err()
			t.Fatalf("id %d: status %d (%d %s)", r.ID, r.Status, code, msg)
		}
	}
	if position[1001] < position[2000] {
		t.Fatal("a slow request was answered before a later fast one: replies are not out of order")
	}
}

// TestOversizeAndGarbageFrames: bad frames get error replies to the right id, the stream stays
// in sync, and an unanswerable frame ends the process with a reason on stderr.
func TestOversizeAndGarbageFrames(t *testing.T) {
	ch := spawn(t, true)
	oversize := Frame(Payload(7, protocol.OpKVSet, Str("s"), BytesS("k"), Bytes(make([]byte, 2<<20)), U64(1)))
	ch.c.Raw(oversize)
	r, err := ch.c.Read()
	if err != nil || r.ID != 7 {
		t.Fatalf("oversize: %+v %v", r, err)
	}
	if code, _ := r.Err(); r.Status != protocol.StatusError || xerr.Code(code) != xerr.FrameTooLarge {
		t.Fatalf("oversize: status %d code %d", r.Status, code)
	}
	garbage := []struct {
		payload []byte
		code    xerr.Code
	}{
		{Payload(8, protocol.Op(0xEE), []byte("junk")), xerr.UnknownOp},
		{Payload(9, protocol.OpKVGet, []byte{0xff, 0xff, 1}), xerr.BadRequest},
		{Payload(10, protocol.OpClear, []byte{2, 0, 0xc3, 0x28}), xerr.BadRequest}, // invalid UTF-8
		{Payload(11, protocol.OpSResolve, Str("s"), Str("t")), xerr.BadRequest},
	}
	for _, g := range garbage {
		ch.c.Raw(Frame(g.payload))
		r, err := ch.c.Read()
		id := uint32(g.payload[0])
		if err != nil || r.ID != id {
			t.Fatalf("garbage %d: %+v %v", id, r, err)
		}
		if code, _ := r.Err(); xerr.Code(code) != g.code {
			t.Fatalf("garbage %d: code %d, want %d", id, code, g.code)
		}
	}
	if r, err := ch.c.Call(12, protocol.OpPing); err != nil || r.Status != protocol.StatusOK {
		t.Fatal("stream out of sync")
	}
	// A frame too short to carry an id: no reply is possible, so the sidecar exits 3.
	ch.c.Raw([]byte{2, 0, 0, 0, 1, 2})
	if code := ch.wait(time.Second); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if !strings.Contains(ch.logs(), "protocol violation") {
		t.Fatalf("no reason on stderr:\n%s", ch.logs())
	}
}

func TestExitsWithinOneSecondOfStdinClose(t *testing.T) {
	for _, configured := range []bool{false, true} {
		t.Run(fmt.Sprint("configured=", configured), func(t *testing.T) {
			ch := spawn(t, configured)
			if configured {
				ch.c.Send(50, opDebugSleep, U32(10_000)) // a request still running
				time.Sleep(50 * time.Millisecond)
			}
			began := time.Now()
			ch.stdin.Close()
			if code := ch.wait(time.Second); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			t.Logf("exited %v after stdin closed", time.Since(began))
		})
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	ch := spawn(t, true)
	ch.c.Send(20, opDebugSleep, U32(300))
	ch.c.Send(21, protocol.OpKVSet, Str("s"), BytesS("k"), BytesS("v"), U64(1000))
	time.Sleep(50 * time.Millisecond) // both are running before SHUTDOWN arrives
	ch.c.Send(22, protocol.OpShutdown)
	ch.c.Send(23, protocol.OpPing)
	var order []uint32
	replies := map[uint32]Reply{}
	for len(replies) < 4 {
		r, err := ch.c.Read()
		if err != nil {
			t.Fatalf("%v\n%s", err, ch.logs())
		}
		replies[r.ID] = r
		order = append(order, r.ID)
	}
	if replies[20].Status != protocol.StatusOK || replies[21].Status != protocol.StatusOK || replies[22].Status != protocol.StatusOK {
		t.Fatal("an in-flight request or SHUTDOWN failed")
	}
	if code, _ := replies[23].Err(); xerr.Code(code) != xerr.ShuttingDown {
		t.Fatalf("request after SHUTDOWN: code %d", code)
	}
	if order[len(order)-1] != 22 {
		t.Fatalf("SHUTDOWN was not the last reply: %v", order)
	}
	if _, err := ch.c.Read(); err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(fmt.Sprint(err), "closed") {
		t.Fatalf("stdout still open after SHUTDOWN: %v", err)
	}
	if code := ch.wait(time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestStderrIsJSONAndHoldsNoSecrets: every stderr line is a JSON object, and neither the master
// key, nor a token, nor a key name, value or user id ever appears there.
func TestStderrIsJSONAndHoldsNoSecrets(t *testing.T) {
	ch := spawn(t, true)
	sb := Str("secrets")
	ch.c.Call(2, protocol.OpKVSet, sb, BytesS("SECRET-KEY-NAME"), BytesS("SECRET-VALUE"), U64(1000))
	r, _ := ch.c.Call(3, protocol.OpSCreate, sb, BytesS("SECRET-DATA"), U64(60_000), U64(0), Str("SECRET-USER"), BytesS("SECRET-META"))
	token := string(r.D().Str("token"))
	r, _ = ch.c.Call(4, protocol.OpSResolve, sb, Str(token), U8(1), U64(0), U64(0))
	ch.c.Call(8, protocol.OpSResolve, sb, Str(string(r.D().Str("token"))), U8(0), U64(0), U64(0)) // the successor is presented
	ch.c.Call(5, protocol.OpSResolve, sb, Str(token), U8(1), U64(0), U64(0))                      // reuse: logged
	ch.c.Call(6, protocol.Op(0xEE))
	ch.c.Raw(Frame(Payload(7, protocol.OpKVSet, sb, BytesS("k"), Bytes(make([]byte, 2<<20)), U64(1))))
	ch.c.Read()
	ch.stdin.Close()
	ch.wait(time.Second)
	logs := ch.logs()
	for _, secret := range []string{string(masterKey), token, token[:22], "SECRET"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("stderr contains %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "token reuse detected") {
		t.Fatalf("reuse not logged:\n%s", logs)
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stderr line is not JSON: %q", sc.Text())
		}
		lines++
	}
	if lines < 3 {
		t.Fatalf("only %d log lines", lines)
	}
}
