package protocol

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Op is a request operation code. The codes, their names and each op's body layout are
// generated from scripts/protocol-table.js (stdio_protocol.gen.go).
type Op uint8

// Known reports whether op is in the protocol's table.
func (o Op) Known() bool { return opName(o) != "" }

// String returns the protocol name of the op ("" for unknown ops).
func (o Op) String() string { return opName(o) }

// Ops lists every known op, for counters.
func Ops() []Op { return append([]Op(nil), allOps...) }

// Secret is one named secret of CONFIGURE.
type Secret struct {
	Name  []byte
	Value []byte
}

// Request is a decoded request. Only the fields of its op are set. Byte slices alias the frame.
type Request struct {
	ID uint32
	Op Op
	// Deadline is the time after which the client has given up on the request, in the server's
	// clock (store.Clock) once the server has dispatched it (0 = none). On the wire and as
	// DecodeRequest returns it, it is Unix ms of the client's wall clock; the server converts it
	// (server.dispatch) so that a step of the wall clock cannot move it.
	Deadline int64

	// CONFIGURE
	ProtocolVersion uint16
	ClientVersion   []byte // str: the client's package version (the handshake's version check)
	ConfigJSON      []byte
	Secrets         []Secret

	Sandbox []byte // str
	Key     []byte // KV key, or KV_SCAN prefix
	Value   []byte // KV value or session data
	Meta    []byte
	TTLMs   uint64
	IdleMs  uint64
	Cursor  []byte // str
	Limit   uint32
	Token   []byte // str: token, or exceptToken for S_REVOKE_ALL
	UserID  []byte // str
	// SessionID is the public id for S_REVOKE_ID.
	SessionID   []byte
	Flags       uint8
	GraceMs     uint64
	MinRotateMs uint64

	// HasExt: the body carries its op's extension fields (S_CREATE, S_UPDATE, S_REGENERATE), which a body
	// may leave out as a whole (docs/protocol.md, "Extension fields").
	HasExt bool
	// S_CREATE extension
	CreateFlags uint8
	MaxPerUser  uint32
	OnLimit     uint8
	BindMode    uint8
	// S_CREATE extension and S_RESOLVE with FlagCheckBinding
	IP         []byte // str
	UserAgent  []byte // str
	OnMismatch uint8  // S_RESOLVE with FlagCheckBinding
	// S_CREATE extension (AuthAt 0: none) and S_REGENERATE extension (a reauthentication):
	// the authentication record, Unix ms and AuthMethod* bits.
	AuthAt      int64
	AuthMethods uint32

	// DEVICE_REGISTER, DEVICE_REFRESH (device binding, DBSC)
	Proof      []byte // str: the compact JWS of Secure-Session-Response
	Algs       uint8  // DEVICE_REGISTER: the offered algorithms (DeviceAlg* bits)
	LifetimeMs uint64 // the bound-cookie lifetime: the new deadline is now + LifetimeMs
}

// PeekHeader returns the id and op of a payload of at least 5 bytes.
func PeekHeader(payload []byte) (uint32, Op) {
	return binary.LittleEndian.Uint32(payload[requestOffsetID:]), Op(payload[requestOffsetOp])
}

// DecodeRequest decodes a request payload (at least 5 bytes, as ReadFrame guarantees): the
// header, then the body of its op as the table lays it out (decodeBody, generated).
// Errors are *xerr.Error: UNKNOWN_OP or BAD_REQUEST naming the op and field.
func DecodeRequest(payload []byte, req *Request) error {
	*req = Request{}
	if len(payload) < minPayload {
		return xerr.New(xerr.BadRequest, "frame payload shorter than 5 bytes")
	}
	req.ID, req.Op = PeekHeader(payload)
	if !req.Op.Known() {
		return xerr.New(xerr.UnknownOp, "unknown op 0x%02x", uint8(req.Op))
	}
	if len(payload) < RequestHeaderSize {
		return xerr.New(xerr.BadRequest, "%s: the request header (id, op, deadline) is %d bytes, got %d", req.Op, RequestHeaderSize, len(payload))
	}
	req.Deadline = int64(binary.LittleEndian.Uint64(payload[requestOffsetDeadline:]))
	d := NewDecoder(payload[RequestHeaderSize:])
	decodeBody(d, req)
	if field, why, ok := d.Err(); !ok {
		return xerr.New(xerr.BadRequest, "%s: %s %s", req.Op, field, why)
	}
	return checkFlagBits(req)
}
