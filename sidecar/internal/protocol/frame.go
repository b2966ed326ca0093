// Package protocol implements the wire format of docs/protocol.md: length-prefixed frames,
// the primitive encodings, request decoding and reply encoding. It knows nothing about what
// the operations do.
package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// minPayload is the shortest payload a reply can be sent for: the u32 id and the u8 op. A
// payload of 5 bytes up to the full request header is answered ERROR BAD_REQUEST.
const minPayload = requestOffsetOp + 1

// ErrShortFrame: a payload too short to hold an id and an op. No reply is possible.
var ErrShortFrame = errors.New("frame payload shorter than 5 bytes (no room for id and op)")

// ErrTruncated: the stream ended inside a frame.
var ErrTruncated = errors.New("stream ended inside a frame (truncated frame)")

// TooLargeError is returned by ReadFrame for a frame longer than the maximum. The frame has
// been consumed (its payload discarded without buffering), so the stream is still in sync and
// the caller can reply FRAME_TOO_LARGE to ID.
type TooLargeError struct {
	ID   uint32
	Size uint32
	Max  uint32
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("frame of %d bytes exceeds maxFrameSize %d", e.Size, e.Max)
}

// ReadFrame reads one frame from r and returns its payload in a new slice (callers may keep
// it and hand it to another goroutine).
//
// Errors: io.EOF on a clean end of stream between frames; ErrTruncated if the stream ends
// inside a frame; *TooLargeError for a frame over max (already skipped); ErrShortFrame for a
// payload under 5 bytes (already consumed).
func ReadFrame(r *bufio.Reader, max uint32) ([]byte, error) {
	return ReadFrameInto(r, max, func(n int) []byte { return make([]byte, n) })
}

// ReadFrameInto is ReadFrame with the payload buffer supplied by alloc (which returns n bytes).
func ReadFrameInto(r *bufio.Reader, max uint32, alloc func(n int) []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, truncated(err)
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > max {
		return nil, skipOversize(r, n, max)
	}
	payload := alloc(int(n))
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, truncated(err)
	}
	if n < minPayload {
		return nil, ErrShortFrame
	}
	return payload, nil
}

// skipOversize reads the id of an oversize frame and discards the rest as it streams in.
func skipOversize(r *bufio.Reader, n, max uint32) error {
	if n < minPayload {
		// Only possible with a max below 5, which configuration forbids; be safe anyway.
		if _, err := r.Discard(int(n)); err != nil {
			return truncated(err)
		}
		return ErrShortFrame
	}
	var id [4]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return truncated(err)
	}
	if _, err := r.Discard(int(n - 4)); err != nil {
		return truncated(err)
	}
	return &TooLargeError{ID: binary.LittleEndian.Uint32(id[:]), Size: n, Max: max}
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

// AppendFrameHeader starts a frame in b: a 4-byte length placeholder that FinishFrame fills.
func AppendFrameHeader(b []byte) []byte { return append(b, 0, 0, 0, 0) }

// FinishFrame writes the payload length of a frame started at offset start of b.
func FinishFrame(b []byte, start int) []byte {
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}
