package server

import (
	"encoding/json"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// statsReply answers STATS: the counters as JSON.
func (s *Server) statsReply(req *protocol.Request) ([]byte, error) {
	js, err := json.Marshal(s.stats())
	if err != nil {
		return nil, err
	}
	return done(protocol.AppendBytes(ok(req.ID, 4+len(js)), js)), nil
}

// statsJSON is STATS's reply: the backend's counters, the requests per op and the uptime.
type statsJSON struct {
	Sandboxes     map[string]session.SandboxStats `json:"sandboxes"`
	Ops           map[string]uint64               `json:"ops"`
	Rotations     uint64                          `json:"rotations"`
	ReuseDetected uint64                          `json:"reuseDetected"`
	Expired       uint64                          `json:"expired"`
	Revoked       uint64                          `json:"revoked"`
	Evicted       uint64                          `json:"evicted"`
	Mismatches    uint64                          `json:"bindingMismatches"`
	UptimeMs      int64                           `json:"uptimeMs"`
}

func (s *Server) stats() statsJSON {
	st := s.backend.Stats()
	ops := map[string]uint64{}
	for _, op := range protocol.Ops() {
		ops[op.String()] = s.ops[op].Load()
	}
	return statsJSON{Sandboxes: st.Sandboxes, Ops: ops, Rotations: st.Rotations, ReuseDetected: st.ReuseDetected,
		Expired: st.Expired, Revoked: st.Revoked, Evicted: st.Evicted, Mismatches: st.BindingMismatches,
		UptimeMs: time.Since(s.started).Milliseconds()}
}
