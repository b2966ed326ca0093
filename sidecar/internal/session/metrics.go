package session

import (
	"log/slog"
	"sync/atomic"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// Metrics are a backend's counters (STATS) and the log lines of the events behind them, alike
// for every backend. Log lines name a session by its public id only.
type Metrics struct {
	Log        *slog.Logger
	Rotations  atomic.Uint64
	Reuse      atomic.Uint64 // sessions revoked because a token was reused
	Expired    atomic.Uint64
	Revoked    atomic.Uint64 // by S_REVOKE*, and by a binding mismatch with the revoke action
	Evicted    atomic.Uint64 // ended by the evict-oldest limit policy
	Mismatches atomic.Uint64 // binding mismatches detected (every action)
}

// NewMetrics returns zeroed counters logging to log (nil: discard).
func NewMetrics(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Metrics{Log: log}
}

// Applied counts what an applied S_RESOLVE outcome did, and logs reuse and mismatches.
func (m *Metrics) Applied(sandbox string, id *crypto.Digest, out *Outcome, action MismatchAction) {
	if out.Mismatch != 0 {
		m.Mismatches.Add(1)
		m.Log.Info("binding mismatch", "sandbox", sandbox, "sessionId", crypto.EncodeID(id),
			"address", out.Mismatch&MismatchIP != 0, "userAgent", out.Mismatch&MismatchAgent != 0, "action", action.String())
	}
	switch {
	case out.Status == Reused:
		m.Reuse.Add(1)
		m.Log.Warn("token reuse detected: session revoked", "sandbox", sandbox, "sessionId", crypto.EncodeID(id))
	case out.Remove:
		m.Revoked.Add(1)
	case out.Rotated:
		m.Rotations.Add(1)
	}
}

// Stats returns the counters, with the given per-sandbox counts.
func (m *Metrics) Stats(sandboxes map[string]SandboxStats) Stats {
	return Stats{Sandboxes: sandboxes, Rotations: m.Rotations.Load(), ReuseDetected: m.Reuse.Load(),
		Expired: m.Expired.Load(), Revoked: m.Revoked.Load(), Evicted: m.Evicted.Load(),
		BindingMismatches: m.Mismatches.Load()}
}

// Peeked counts and logs what PeekDecide found (a binding mismatch) and says whether it
// refused the peek: then res is the whole answer (Mismatched, or the error
// ErrDeviceOverdue); otherwise the backend answers the session with res.Mismatch set.
func (m *Metrics) Peeked(sandbox string, id *crypto.Digest, out *Outcome, o *PeekOptions) (res PeekResult, refused bool, err error) {
	m.Applied(sandbox, id, out, o.PeekAction()) // a peek's outcome never removes nor rotates
	switch out.Status {
	case DeviceOverdue:
		return PeekResult{Status: NotFound}, true, ErrDeviceOverdue() // nothing changes: the owner refreshes
	case Mismatched:
		return PeekResult{Status: Mismatched, SessionID: *id, Mismatch: out.Mismatch}, true, nil
	}
	return PeekResult{Mismatch: out.Mismatch}, false, nil
}
