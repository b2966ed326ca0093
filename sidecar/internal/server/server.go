// Package server runs the sidecar's protocol loop: it reads request frames from stdin, answers
// CONFIGURE and SHUTDOWN in order, runs every other request in its own goroutine (so replies
// go out in any order) and hands replies to the one goroutine that owns stdout.
package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Exit codes of the sidecar process.
const (
	ExitOK       = 0 // stdin closed between frames, SHUTDOWN done, or SIGTERM
	ExitProtocol = 3 // a frame no reply can be sent for (short, truncated, id 0): reason on stderr
)

// How long the sidecar waits, once stdin has closed, for requests already running and for its
// last replies to drain before exiting: the parent is gone, so this only needs to be short and
// bounded (the protocol promises an exit within 1 s).
const eofGrace = 300 * time.Millisecond

// expiryInterval is how often the background expirer sweeps for expired records.
const expiryInterval = time.Second

// Options configure a Server.
type Options struct {
	In           io.Reader
	Out          io.Writer
	Logger       *slog.Logger
	Level        *slog.LevelVar
	BuildVersion string
	Clock        store.Clock // nil: the system clock
}

// Server is one protocol session over a pair of streams.
type Server struct {
	in      *bufio.Reader
	out     io.Writer
	log     *slog.Logger
	level   *slog.LevelVar
	build   string
	clock   store.Clock
	started time.Time

	maxFrame uint32 // read loop only

	configured  atomic.Bool
	store       *store.Store // set before configured becomes true
	master      *crypto.Master
	stopExpirer func()
	cfg         config

	// admitMu orders "admit a request" (inflight.Add) before "stop admitting" (shutting), so
	// that no Add can race with the Wait that follows shutting.
	admitMu  sync.Mutex
	shutting atomic.Bool
	inflight sync.WaitGroup

	replies    chan []byte
	quitWriter chan struct{}
	writerDone chan struct{}
	exit       chan int

	ops [256]atomic.Uint64
}

// New returns a server; call Run.
func New(o Options) *Server {
	if o.Level == nil {
		o.Level = new(slog.LevelVar)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		in: bufio.NewReaderSize(o.In, 64<<10), out: o.Out, log: o.Logger, level: o.Level,
		build: o.BuildVersion, clock: o.Clock, started: time.Now(),
		maxFrame:   protocol.DefaultMaxFrameSize,
		replies:    make(chan []byte, 4096),
		quitWriter: make(chan struct{}),
		writerDone: make(chan struct{}),
		exit:       make(chan int, 4),
	}
}

// Run serves until stdin closes, SHUTDOWN completes, Stop is called or the stream breaks the
// protocol, and returns the process exit code. Key material is wiped before it returns.
func (s *Server) Run() int {
	go s.writeLoop()
	s.send(protocol.Hello(s.build))
	go s.readLoop()
	code := <-s.exit
	s.stopAdmitting()
	waitTimeout(&s.inflight, eofGrace)
	close(s.quitWriter)
	select {
	case <-s.writerDone:
	case <-time.After(eofGrace):
		s.log.Warn("replies still queued at exit were dropped (stdout not drained)")
	}
	s.close()
	return code
}

// Stop makes Run return with code (used for SIGTERM).
func (s *Server) Stop(code int) { s.finish(code) }

func (s *Server) finish(code int) {
	select {
	case s.exit <- code:
	default:
	}
}

func (s *Server) close() {
	if s.stopExpirer != nil {
		s.stopExpirer()
	}
	if s.master != nil {
		s.master.Wipe()
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// readLoop reads frames until the stream ends or breaks the protocol.
func (s *Server) readLoop() {
	for {
		payload, err := protocol.ReadFrame(s.in, s.maxFrame)
		var tooLarge *protocol.TooLargeError
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			s.log.Info("stdin closed: exiting")
			s.finish(ExitOK)
			return
		case errors.As(err, &tooLarge):
			if tooLarge.ID == 0 {
				s.fatal("oversize frame with request id 0 (reserved): cannot reply")
				return
			}
			s.log.Warn("frame too large: discarded", "id", tooLarge.ID, "size", tooLarge.Size, "max", tooLarge.Max)
			s.send(protocol.ErrorReply(tooLarge.ID, xerr.FrameTooLarge, tooLarge.Error()))
			continue
		default:
			s.fatal(err.Error())
			return
		}
		id, op := protocol.PeekHeader(payload)
		switch {
		case id == 0:
			s.fatal("request with id 0 (reserved for sidecar-initiated frames): cannot reply")
			return
		case s.shutting.Load():
			s.send(protocol.ErrorReply(id, xerr.ShuttingDown, "the sidecar is shutting down"))
		case op == protocol.OpConfigure:
			// In order, before any later frame is read: it sets the frame limit for them.
			s.send(s.safely(id, func() []byte { return s.configure(payload) }))
			clear(payload) // it carried the master key
		case !s.configured.Load():
			s.send(protocol.ErrorReply(id, xerr.NotConfigured, "the first request must be CONFIGURE"))
		case op == protocol.OpShutdown:
			s.ops[op].Add(1)
			s.stopAdmitting()
			go func() {
				s.inflight.Wait()
				s.log.Info("shutdown requested: in-flight requests done, exiting")
				s.send(protocol.SimpleReply(id, protocol.StatusOK))
				s.finish(ExitOK)
			}()
		default:
			if !s.admit() {
				s.send(protocol.ErrorReply(id, xerr.ShuttingDown, "the sidecar is shutting down"))
				continue
			}
			go s.handle(payload)
		}
	}
}

// admit counts a request in flight unless the server has stopped admitting.
func (s *Server) admit() bool {
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) stopAdmitting() {
	s.admitMu.Lock()
	s.shutting.Store(true)
	s.admitMu.Unlock()
}

func (s *Server) fatal(reason string) {
	s.log.Error("protocol violation: exiting", "reason", reason, "exitCode", ExitProtocol)
	s.finish(ExitProtocol)
}

// handle runs one request in its own goroutine.
func (s *Server) handle(payload []byte) {
	defer s.inflight.Done()
	id, _ := protocol.PeekHeader(payload)
	s.send(s.safely(id, func() []byte { return s.dispatch(payload) }))
	// The request may have carried a token, a key name or a value: do not leave it lying in
	// freed memory longer than needed.
	clear(payload)
}

// safely runs fn, turning a panic into ERROR INTERNAL for that request (defence in depth:
// there should be none) with a log line that carries no request content.
func (s *Server) safely(id uint32, fn func() []byte) (reply []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("internal error while handling a request", "id", id, "panic", panicText(p), "stack", string(debug.Stack()))
			reply = protocol.ErrorReply(id, xerr.Internal, "internal error (logged by the sidecar)")
		}
	}()
	return fn()
}

func panicText(p any) string {
	if e, ok := p.(error); ok {
		return e.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "non-error panic value"
}

// send queues a complete frame for the writer.
func (s *Server) send(frame []byte) { s.replies <- frame }

// writeLoop owns stdout: it writes queued frames through a buffer and flushes whenever the
// queue is empty, so a burst of replies costs few write syscalls and a lone reply goes out at once.
func (s *Server) writeLoop() {
	defer close(s.writerDone)
	w := bufio.NewWriterSize(s.out, 64<<10)
	failed := false
	write := func(f []byte) {
		if failed {
			return
		}
		if _, err := w.Write(f); err != nil {
			failed = true
			s.log.Info("stdout closed: exiting", "error", err.Error())
			s.finish(ExitOK)
		}
	}
	flush := func() {
		if !failed && w.Flush() != nil {
			failed = true
			s.finish(ExitOK)
		}
	}
	for {
		select {
		case f := <-s.replies:
			write(f)
			for drained := false; !drained; {
				select {
				case f := <-s.replies:
					write(f)
				default:
					drained = true
				}
			}
			flush()
		case <-s.quitWriter:
			for {
				select {
				case f := <-s.replies:
					write(f)
				default:
					flush()
					return
				}
			}
		}
	}
}
