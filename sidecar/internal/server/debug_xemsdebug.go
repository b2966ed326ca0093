//go:build xemsdebug

package server

import (
	"encoding/binary"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// OpDebugSleep exists only in binaries built with -tags xemsdebug (the protocol tests build
// one): after the request header, u32 ms, then an empty OK reply after sleeping that long. It makes out-of-order replies
// deterministic to test. Release binaries answer 0x7F with UNKNOWN_OP like any unknown op.
const OpDebugSleep = 0x7F

func init() {
	debugOp = func(payload []byte) ([]byte, bool) {
		id, op := protocol.PeekHeader(payload)
		if op != OpDebugSleep || len(payload) != protocol.RequestHeaderSize+4 {
			return nil, false
		}
		time.Sleep(time.Duration(binary.LittleEndian.Uint32(payload[protocol.RequestHeaderSize:])) * time.Millisecond)
		return protocol.SimpleReply(id, protocol.StatusOK), true
	}
}
