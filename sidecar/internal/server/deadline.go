package server

import (
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// checkDeadline refuses, unapplied, a request whose deadline (docs/protocol.md, "Deadlines")
// has passed by the time it is dispatched: its client has given up on it (it answered the
// caller with a timeout), so applying it now could only do harm, e.g. rotate a token nobody
// will receive. A request still in time gets its deadline converted into the server's clock
// (the stores' clock), where the stores check it again right before they apply a change.
//
// The wire carries the client's wall-clock Unix ms; the client runs on the same machine, so
// the comparison uses the wall clock here too. The stores' clock is the wall clock read once
// at start and advanced monotonically: converting the remaining time, not the instant, keeps a
// later step of the wall clock (NTP) from expiring every request or none.
func (s *Server) checkDeadline(req *protocol.Request) error {
	if req.Deadline == 0 {
		return nil
	}
	left := req.Deadline - time.Now().UnixMilli()
	if left <= 0 {
		return xerr.New(xerr.DeadlineExceeded, "%s: the client's deadline passed %d ms before the request was dispatched (it has given up): not applied", req.Op, -left)
	}
	req.Deadline = s.clock.NowMs() + left
	return nil
}
