package server

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"

// Inline handling. At the rate one Node process drives the sidecar over HTTP, it mostly sees one
// request at a time; passing each from the read loop to a worker and its reply to the writer
// costs two goroutine hand-offs (thread wake-ups) that cost more than the request itself. So
// the read loop handles a request itself when nothing else is waiting: no further frame in
// its buffer and no frame queued for the workers. A backlog (frames of one client write
// arriving together, or a slow request running) goes to the workers as before, so replies
// still go out in completion order and one slow request holds up nothing.
//
// Only bounded in-memory operations qualify: with persistence on (the journal may wait for the
// disk) or the Redis store (a network round trip) the read loop never runs a request, and SCAN, CLEAR, S_LIST, S_REVOKE_ALL, STATS
// and any unknown or test-only op always go to the workers.

// inlineOp reports whether op is cheap and bounded enough to run in the read loop.
func inlineOp(op protocol.Op) bool {
	switch op {
	case protocol.OpPing, protocol.OpKVSet, protocol.OpKVGet, protocol.OpKVDel, protocol.OpKVHas,
		protocol.OpKVTTL, protocol.OpKVTouch, protocol.OpSCreate, protocol.OpSResolve,
		protocol.OpSUpdate, protocol.OpSRevoke, protocol.OpSRevokeID, protocol.OpSRegen:
		return true
	}
	return false
}

// handleInline runs one admitted request in the read loop and writes its reply through the
// shared buffer (stdout is a pipe whose buffer the parent keeps draining, so this does not
// hold up reading). It flushes unless the writer goroutine has replies queued: the writer flushes
// after draining them, and this frame goes out in the same write.
func (s *Server) handleInline(payload []byte) {
	reply := s.safely(payload, s.dispatch)
	discard(payload)
	s.outMu.Lock()
	s.writeFrame(reply)
	if len(s.replies) == 0 {
		s.flushOut()
	}
	s.outMu.Unlock()
	s.inflight.Done()
	s.inlineCount.Add(1)
}
