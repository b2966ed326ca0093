// Package server runs the sidecar's protocol loop: it reads request frames from stdin, answers
// CONFIGURE and SHUTDOWN in order, handles cheap requests inline in the read loop and writes the
// replies of one burst together (inline.go), hands every other request to a pool of worker
// goroutines (so a slow one holds up nothing) and writes replies through one buffered, locked
// stdout.
package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redisstore"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
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
	BuildVersion string // what HELLO reports: <Version>+<go version>
	// Version is the package version the binary was built as (main.version): CONFIGURE refuses
	// a client of another version. "" or "dev" (an unstamped build) accepts any client.
	Version string
	Clock   session.Clock // nil: the system clock
	// LimitProcs lets the Redis store lower GOMAXPROCS (procs.go). Only the binary sets it:
	// GOMAXPROCS is the whole process's, and a test process hosts many servers.
	LimitProcs bool
}

// Server is one protocol session over a pair of streams.
type Server struct {
	in         *bufio.Reader
	out        io.Writer
	log        *slog.Logger
	level      *slog.LevelVar
	build      string
	version    string
	clock      session.Clock
	started    time.Time
	limitProcs bool // Options.LimitProcs

	maxFrame uint32 // read loop only

	configured  atomic.Bool
	store       *store.Store // set before configured becomes true
	backend     backend      // what the handlers call: store, or redis (backend.go)
	redis       *redisstore.Store
	master      *crypto.Master
	stopExpirer func()
	expired     *expiredReporter // nil unless CONFIGURE asked for expiryEvents
	vault       *vault.Vault     // nil unless persistence is on (persistence.go)
	cfg         config

	// admitMu orders "admit a request" (inflight.Add) before "stop admitting" (shutting), so
	// that no Add can race with the Wait that follows shutting.
	admitMu  sync.Mutex
	shutting atomic.Bool
	inflight sync.WaitGroup

	work    chan []byte // admitted request frames, for the workers
	replies chan []byte

	// inlineOK: requests may be handled inline in the read loop (inline.go). Read loop only.
	inlineOK bool
	// outMu guards out's buffer: the writer goroutine and the read loop's inline replies both
	// write whole frames under it, so frames never interleave.
	outMu     sync.Mutex
	outBuf    *bufio.Writer
	outFailed bool
	// inlineUnflushed counts inline replies written since the last flush. Guarded by outMu.
	inlineUnflushed int
	// inlineCount counts requests handled inline, flushCount writes to stdout (tests).
	inlineCount atomic.Uint64
	flushCount  atomic.Uint64
	quitWriter  chan struct{}
	writerDone  chan struct{}
	exit        chan int

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
	if o.Clock == nil {
		// One clock for the stores and the requests' deadlines (deadline.go).
		o.Clock = session.NewSystemClock()
	}
	return &Server{
		in: bufio.NewReaderSize(o.In, 64<<10), out: o.Out, outBuf: bufio.NewWriterSize(o.Out, 64<<10),
		log: o.Logger, level: o.Level,
		build: o.BuildVersion, version: o.Version, clock: o.Clock, started: time.Now(), limitProcs: o.LimitProcs,
		maxFrame:   protocol.DefaultMaxFrameSize,
		work:       make(chan []byte, 1024),
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
	for i := 0; i < workerCount(); i++ {
		go s.worker()
	}
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
	if s.expired != nil {
		s.expired.abort()
	}
	if s.stopExpirer != nil {
		s.stopExpirer()
	}
	if s.vault != nil {
		// Graceful or not (stdin EOF, SIGTERM), everything written so far reaches the disk.
		if err := s.vault.Close(); err != nil {
			s.log.Error("closing the vault failed", "error", err.Error())
		}
	}
	if s.master != nil {
		s.master.Wipe()
	}
	if s.redis != nil {
		s.redis.Close() // closes the connections and wipes its keys
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
		payload, err := protocol.ReadFrameInto(s.in, s.maxFrame, allocPayload)
		if err != nil {
			if s.readFailed(err) {
				continue
			}
			return
		}
		id, op := protocol.PeekHeader(payload)
		switch {
		case id == 0:
			s.fatal("request with id 0 (reserved for sidecar-initiated frames): cannot reply")
			return
		case s.shutting.Load():
			s.send(protocol.ErrorReply(id, xerr.ShuttingDown, "the sidecar is shutting down"))
			discard(payload)
		case op == protocol.OpConfigure:
			// In order, before any later frame is read: it sets the frame limit for them.
			s.send(s.safely(payload, s.configure))
			discard(payload) // it carried the master key
			// Never with Redis: a request waits for the network, the read loop must not.
			s.inlineOK = s.configured.Load() && s.cfg.Persist == nil && s.cfg.Redis == nil
		case !s.configured.Load():
			s.send(protocol.ErrorReply(id, xerr.NotConfigured, "the first request must be CONFIGURE"))
			discard(payload)
		case op == protocol.OpShutdown:
			s.ops[op].Add(1)
			s.stopAdmitting()
			discard(payload)
			go func() {
				s.inflight.Wait()
				if s.expired != nil {
					s.expired.shutdown() // its frames go out before the SHUTDOWN reply
				}
				if s.redis != nil {
					s.redis.StopWatchingEnded() // no ENDED frame after the SHUTDOWN reply
				}
				s.log.Info("shutdown requested: in-flight requests done, exiting")
				s.send(protocol.SimpleReply(id, protocol.StatusOK))
				s.finish(ExitOK)
			}()
		default:
			if !s.admit() {
				s.send(protocol.ErrorReply(id, xerr.ShuttingDown, "the sidecar is shutting down"))
				discard(payload)
				continue
			}
			if s.inlineOK && inlineOp(op) {
				s.handleInline(payload)
				continue
			}
			s.flushInline() // a worker's reply may take long: do not hold earlier ones back
			s.work <- payload
		}
	}
}

// workerCount: enough workers that a few slow requests (a large SCAN or CLEAR) do not hold up
// the rest, few enough that they stay busy. Long-lived workers matter for CPU: a goroutine per
// request would start on a small stack and pay for growing it (copying) on every request.
func workerCount() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

func (s *Server) worker() {
	for payload := range s.work {
		s.handle(payload)
	}
}

// readFailed handles a frame that could not be read. It returns true when the stream is still
// in sync (an oversize frame was skipped and answered) and reading can go on.
func (s *Server) readFailed(err error) bool {
	var tooLarge *protocol.TooLargeError
	switch {
	case errors.Is(err, io.EOF):
		s.log.Info("stdin closed: exiting")
		s.finish(ExitOK)
		return false
	case errors.As(err, &tooLarge):
		if tooLarge.ID == 0 {
			s.fatal("oversize frame with request id 0 (reserved): cannot reply")
			return false
		}
		s.log.Warn("frame too large: discarded", "id", tooLarge.ID, "size", tooLarge.Size, "max", tooLarge.Max)
		s.send(protocol.ErrorReply(tooLarge.ID, xerr.FrameTooLarge, tooLarge.Error()))
		return true
	}
	s.fatal(err.Error())
	return false
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

// handle runs one admitted request on a worker.
func (s *Server) handle(payload []byte) {
	defer s.inflight.Done()
	s.send(s.safely(payload, s.dispatch))
	discard(payload)
}

// discard wipes a request frame and gives its buffer back: it may have carried a token, a key
// name, a value or key material, which should not linger in memory.
func discard(payload []byte) {
	clear(payload)
	protocol.PutBuf(payload)
}

func allocPayload(n int) []byte { return protocol.GetBuf(n)[:n] }

// safely runs fn on a request, turning a panic into ERROR INTERNAL for that request (defence in
// depth: there should be none) with a log line that carries no request content.
func (s *Server) safely(payload []byte, fn func([]byte) []byte) (reply []byte) {
	defer func() {
		if p := recover(); p != nil {
			id, _ := protocol.PeekHeader(payload)
			s.log.Error("internal error while handling a request", "id", id, "panic", panicText(p), "stack", string(debug.Stack()))
			reply = protocol.ErrorReply(id, xerr.Internal, "internal error (logged by the sidecar)")
		}
	}()
	return fn(payload)
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
