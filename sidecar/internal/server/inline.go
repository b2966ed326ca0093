package server

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// Inline handling. Passing a request from the read loop to a worker and its reply to the writer
// costs two goroutine hand-offs (thread wake-ups), more than a cheap request itself; and every
// write to stdout wakes Node once. So the read loop runs cheap requests itself, one after the
// other, and leaves their replies in the output buffer while the next request is already
// buffered: the replies of the frames that arrived together leave in one write, and Node gets
// one wake-up per batch instead of one per reply. The buffer is flushed as soon as no complete
// frame is waiting (so a lone request is answered at once) and at least every inlineFlushEvery
// replies (so the first replies of a long burst are not held back while the rest run).
//
// Only bounded in-memory operations qualify: with persistence on (the journal may wait for the
// disk) or the Redis store (a network round trip) the read loop never runs a request, and
// SCAN, CLEAR, S_LIST, S_REVOKE_ALL, STATS and any unknown or test-only op always go to the
// workers (whose replies may overtake or follow inline ones: replies are matched by id).

// inlineFlushEvery bounds how many inline replies wait in the output buffer for the end of
// a burst: about 25-50 µs of work at 1-2 µs per request.
const inlineFlushEvery = 32

// inlineOp reports whether op is cheap and bounded enough to run in the read loop.
func inlineOp(op protocol.Op) bool {
	switch op {
	case protocol.OpPing, protocol.OpKVSet, protocol.OpKVGet, protocol.OpKVDel, protocol.OpKVHas,
		protocol.OpKVTTL, protocol.OpKVTouch, protocol.OpSCreate, protocol.OpSResolve,
		protocol.OpSUpdate, protocol.OpSRevoke, protocol.OpSRevokeID, protocol.OpSRegen,
		protocol.OpSPeek, protocol.OpSPeekID:
		return true
	}
	return false
}

// handleInline runs one admitted request in the read loop and buffers its reply (stdout is a
// pipe whose buffer the parent keeps draining, so this does not hold up reading). It flushes
// when the burst ends (no complete frame buffered), every inlineFlushEvery replies, and never
// while the writer goroutine has replies queued: it flushes after draining them, and this
// frame goes out in the same write.
func (s *Server) handleInline(payload []byte) {
	reply := s.safely(payload, s.dispatch)
	discard(payload)
	s.inlineCount.Add(1) // before the reply can reach the client, which may then count
	s.outMu.Lock()
	s.writeFrame(reply)
	s.inlineUnflushed++
	if s.inlineUnflushed >= inlineFlushEvery || (!s.frameBuffered() && len(s.replies) == 0) {
		s.flushOut()
	}
	s.outMu.Unlock()
	s.inflight.Done()
}

// frameBuffered reports whether a whole request frame is already in the read buffer, so that
// reading it will not block. Read loop only.
func (s *Server) frameBuffered() bool {
	n := s.in.Buffered()
	if n < 4 {
		return false
	}
	head, err := s.in.Peek(4)
	return err == nil && uint64(n-4) >= uint64(binary.LittleEndian.Uint32(head))
}

// flushInline writes out inline replies still buffered. Read loop only.
func (s *Server) flushInline() {
	s.outMu.Lock()
	if s.inlineUnflushed > 0 {
		s.flushOut()
	}
	s.outMu.Unlock()
}
