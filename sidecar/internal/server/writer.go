package server

import (
	"runtime"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// The output side: every reply frame goes through one buffered stdout, written whole under
// outMu (by the writer goroutine here, or by the read loop for inline replies, inline.go).

// send queues a complete frame for the writer.
func (s *Server) send(frame []byte) { s.replies <- frame }

// writeLoop writes the workers' replies: it writes queued frames through the shared buffer and
// flushes whenever the queue is empty, so a burst of replies costs few write syscalls and a lone
// reply goes out at once.
//
// Before it drains the queue it yields once. The first reply of a group readies the writer
// ahead of the other goroutines readied with it (Go runs the goroutine a sender wakes next):
// the workers whose Redis pipeline was answered together, each one reply away from done.
// Without the yield the writer flushed every reply alone, one write and one wake-up of Node
// per request (0.98 writes per reply on Redis in the bench, bench/FINDINGS.md K); after it
// they go out together. A lone reply waits only for goroutines that were already runnable.
func (s *Server) writeLoop() {
	defer close(s.writerDone)
	for {
		select {
		case f := <-s.replies:
			runtime.Gosched()
			s.outMu.Lock()
			s.writeFrame(f)
			for drained := false; !drained; {
				select {
				case f := <-s.replies:
					s.writeFrame(f)
				default:
					drained = true
				}
			}
			s.flushOut()
			s.outMu.Unlock()
		case <-s.quitWriter:
			s.outMu.Lock()
			defer s.outMu.Unlock()
			for {
				select {
				case f := <-s.replies:
					s.writeFrame(f)
				default:
					s.flushOut()
					return
				}
			}
		}
	}
}

// writeFrame buffers one whole frame and recycles it. Caller holds outMu.
func (s *Server) writeFrame(f []byte) {
	if !s.outFailed {
		if _, err := s.outBuf.Write(f); err != nil {
			s.outFailed = true
			s.log.Info("stdout closed: exiting", "error", err.Error())
			s.finish(ExitOK)
		}
	}
	// Replies carry session data and values: wipe before the buffer is reused.
	clear(f)
	protocol.PutBuf(f)
}

// flushOut writes the buffered frames out. Caller holds outMu.
func (s *Server) flushOut() {
	s.inlineUnflushed = 0
	if s.outBuf.Buffered() > 0 {
		s.flushCount.Add(1)
	}
	if !s.outFailed && s.outBuf.Flush() != nil {
		s.outFailed = true
		s.finish(ExitOK)
	}
}
