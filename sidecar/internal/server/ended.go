package server

import (
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// With the Redis store, several sidecars serve one set of sessions. Each announces the
// sessions it ends (announceEnded, over Redis pub/sub: internal/redisstore/ended.go), and each
// whose client asked for it (CONFIGURE endedEvents) passes the others' announcements on in
// ENDED frames (id 0), so every instance can close the WebSockets it holds for them. With the
// memory store there are no other instances: nothing is announced.

// announceEnded tells the other instances that this sidecar ended ids (protocol.Ended* reason).
func (s *Server) announceEnded(sandbox []byte, reason uint8, ids ...crypto.Digest) {
	if s.redis != nil {
		s.redis.PublishEnded(sandbox, reason, ids)
	}
}

// reportEnded sends the sessions another instance ended to the client, in ENDED frames that
// each stay within maxFrame.
func (s *Server) reportEnded(sandbox string, reason uint8, ids []crypto.Digest) {
	room := int(s.maxFrame) - 5 - 2 - len(sandbox) - 1 - 4
	per := max(1, room/(2+crypto.IDLength))
	for len(ids) > 0 {
		chunk := ids[:min(per, len(ids))]
		s.send(protocol.EndedFrame(sandbox, reason, encodeIDs(chunk), crypto.IDLength))
		ids = ids[len(chunk):]
	}
}

func encodeIDs(ids []crypto.Digest) []byte {
	b := make([]byte, 0, len(ids)*crypto.IDLength)
	for i := range ids {
		b = crypto.AppendID(b, &ids[i])
	}
	return b
}
