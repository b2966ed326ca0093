// Package wiretest is a minimal protocol client for the sidecar's tests: it writes request
// frames and reads reply frames. It is not used by the sidecar itself.
package wiretest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// Client talks to a sidecar over a pair of streams.
type Client struct {
	mu sync.Mutex
	w  io.Writer
	r  *bufio.Reader
}

// NewClient returns a client writing requests to w and reading replies from r.
func NewClient(w io.Writer, r io.Reader) *Client { return &Client{w: w, r: bufio.NewReader(r)} }

// Fields encoders.
func Str(s string) []byte    { return protocol.AppendStr(nil, s) }
func Bytes(b []byte) []byte  { return protocol.AppendBytes(nil, b) }
func BytesS(s string) []byte { return protocol.AppendBytes(nil, []byte(s)) }
func U8(v uint8) []byte      { return []byte{v} }
func U16(v uint16) []byte    { return protocol.AppendU16(nil, v) }
func U32(v uint32) []byte    { return protocol.AppendU32(nil, v) }
func U64(v uint64) []byte    { return protocol.AppendU64(nil, v) }

// Payload builds a request payload without a deadline.
func Payload(id uint32, op protocol.Op, fields ...[]byte) []byte {
	return PayloadDeadline(id, op, 0, fields...)
}

// PayloadDeadline builds a request payload whose header carries deadline (Unix ms, 0 = none).
func PayloadDeadline(id uint32, op protocol.Op, deadline int64, fields ...[]byte) []byte {
	b := protocol.AppendU32(nil, id)
	b = append(b, byte(op))
	b = protocol.AppendI64(b, deadline)
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

// Frame wraps a payload in a frame.
func Frame(payload []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// Send writes one request frame.
func (c *Client) Send(id uint32, op protocol.Op, fields ...[]byte) error {
	return c.Raw(Frame(Payload(id, op, fields...)))
}

// Raw writes bytes as they are.
func (c *Client) Raw(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.w.Write(b)
	return err
}

// Reply is a decoded reply header with its raw body.
type Reply struct {
	ID     uint32
	Status protocol.Status
	Body   []byte
}

// Read reads one frame (a reply, or HELLO with id 0 whose Status is the kind byte).
func (c *Client) Read() (Reply, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return Reply{}, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n < 5 || n > 256<<20 {
		return Reply{}, fmt.Errorf("reply frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.r, p); err != nil {
		return Reply{}, err
	}
	return Reply{ID: binary.LittleEndian.Uint32(p), Status: protocol.Status(p[4]), Body: p[5:]}, nil
}

// Call sends a request and reads the next frame, which must answer it. The reply of an op of
// the protocol's table must have the layout the table gives (protocol.CheckReply).
func (c *Client) Call(id uint32, op protocol.Op, fields ...[]byte) (Reply, error) {
	if err := c.Send(id, op, fields...); err != nil {
		return Reply{}, err
	}
	r, err := c.Read()
	if err == nil && r.ID != id {
		err = fmt.Errorf("reply for id %d, want %d", r.ID, id)
	}
	if err == nil && op.Known() {
		err = protocol.CheckReply(op, r.Status, r.Body)
	}
	return r, err
}

// Err decodes an ERROR body.
func (r Reply) Err() (uint16, string) {
	d := protocol.NewDecoder(r.Body)
	code := d.U16("code")
	msg := d.Str("message")
	return code, string(msg)
}

// D returns a decoder over the body.
func (r Reply) D() *protocol.Decoder { return protocol.NewDecoder(r.Body) }

// Configure returns the body of a CONFIGURE with the given JSON and secrets (name, value
// pairs), from a client that sends no package version.
func Configure(id uint32, version uint16, configJSON string, secrets ...[]byte) [][]byte {
	return ConfigureAs(id, version, "", configJSON, secrets...)
}

// ConfigureAs is Configure from a client of package version clientVersion.
func ConfigureAs(id uint32, version uint16, clientVersion, configJSON string, secrets ...[]byte) [][]byte {
	f := [][]byte{U16(version), Str(clientVersion), BytesS(configJSON), U16(uint16(len(secrets) / 2))}
	for i := 0; i+1 < len(secrets); i += 2 {
		f = append(f, protocol.AppendStrBytes(nil, secrets[i]), Bytes(secrets[i+1]))
	}
	return f
}
