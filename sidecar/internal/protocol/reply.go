package protocol

import (
	"fmt"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Status is a reply status (the values are generated: stdio_protocol.gen.go).
type Status uint8

// String returns the protocol name of the status.
func (st Status) String() string {
	if n := statusName(st); n != "" {
		return n
	}
	return fmt.Sprintf("STATUS_%d", uint8(st))
}

// ExpiredFrame returns an EXPIRED frame: str sandbox, u32 n, n x str sessionId. ids holds the
// encoded ids (each IDLength bytes) back to back.
func ExpiredFrame(sandbox string, ids []byte, idLen int) []byte {
	n := len(ids) / idLen
	b := AppendFrameHeader(GetBuf(9 + 2 + len(sandbox) + 4 + n*(2+idLen))[:0])
	b = AppendU32(b, 0)
	b = append(b, FrameKindExpired)
	b = AppendStr(b, sandbox)
	b = AppendU32(b, uint32(n))
	for i := 0; i < n; i++ {
		b = AppendStrBytes(b, ids[i*idLen:(i+1)*idLen])
	}
	return FinishFrame(b, 0)
}

// BeginReply appends a frame header and the reply header (id, status) to b. Append the body
// with the Append* helpers, then call FinishFrame(b, start) with start = len(b) before the call.
func BeginReply(b []byte, id uint32, status Status) []byte {
	b = AppendFrameHeader(b)
	b = AppendU32(b, id)
	return append(b, byte(status))
}

// ErrorReply returns a complete ERROR frame for id.
func ErrorReply(id uint32, code xerr.Code, msg string) []byte {
	b := BeginReply(GetBuf(16+len(msg)), id, StatusError)
	b = AppendU16(b, uint16(code))
	b = AppendStr(b, msg)
	return FinishFrame(b, 0)
}

// SimpleReply returns a complete frame with an empty body.
func SimpleReply(id uint32, status Status) []byte {
	return FinishFrame(BeginReply(GetBuf(9), id, status), 0)
}

// Hello returns the HELLO frame.
func Hello(buildVersion string) []byte {
	b := AppendFrameHeader(make([]byte, 0, 16+len(buildVersion)))
	b = AppendU32(b, 0)
	b = append(b, FrameKindHello)
	b = AppendU16(b, Version)
	b = AppendStr(b, buildVersion)
	return FinishFrame(b, 0)
}

// EndedFrame returns an ENDED frame: str sandbox, u8 reason, u32 n, n x str sessionId. ids
// holds the encoded ids (each idLen bytes) back to back.
func EndedFrame(sandbox string, reason uint8, ids []byte, idLen int) []byte {
	n := len(ids) / idLen
	b := AppendFrameHeader(GetBuf(9 + 2 + len(sandbox) + 1 + 4 + n*(2+idLen))[:0])
	b = AppendU32(b, 0)
	b = append(b, FrameKindEnded)
	b = AppendStr(b, sandbox)
	b = append(b, reason)
	b = AppendU32(b, uint32(n))
	for i := 0; i < n; i++ {
		b = AppendStrBytes(b, ids[i*idLen:(i+1)*idLen])
	}
	return FinishFrame(b, 0)
}
