package protocol

import (
	"encoding/binary"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Op is a request operation code.
type Op uint8

const (
	OpConfigure  Op = 0x01
	OpPing       Op = 0x02
	OpShutdown   Op = 0x03
	OpStats      Op = 0x04
	OpKVSet      Op = 0x10
	OpKVGet      Op = 0x11
	OpKVDel      Op = 0x12
	OpKVHas      Op = 0x13
	OpKVTTL      Op = 0x14
	OpKVTouch    Op = 0x15
	OpKVScan     Op = 0x16
	OpClear      Op = 0x17
	OpSCreate    Op = 0x20
	OpSResolve   Op = 0x21
	OpSUpdate    Op = 0x22
	OpSRevoke    Op = 0x23
	OpSList      Op = 0x24
	OpSRevokeAll Op = 0x25
	OpSRevokeID  Op = 0x26
	OpSRegen     Op = 0x27
)

var opNames = [256]string{
	OpConfigure: "CONFIGURE", OpPing: "PING", OpShutdown: "SHUTDOWN", OpStats: "STATS",
	OpKVSet: "KV_SET", OpKVGet: "KV_GET", OpKVDel: "KV_DEL", OpKVHas: "KV_HAS", OpKVTTL: "KV_TTL",
	OpKVTouch: "KV_TOUCH", OpKVScan: "KV_SCAN", OpClear: "CLEAR",
	OpSCreate: "S_CREATE", OpSResolve: "S_RESOLVE", OpSUpdate: "S_UPDATE", OpSRevoke: "S_REVOKE",
	OpSList: "S_LIST", OpSRevokeAll: "S_REVOKE_ALL", OpSRevokeID: "S_REVOKE_ID",
	OpSRegen: "S_REGENERATE",
}

// Known reports whether op is in the protocol's table.
func (o Op) Known() bool { return opNames[o] != "" }

// String returns the protocol name of the op ("" for unknown ops).
func (o Op) String() string { return opNames[o] }

// Ops lists every known op, for counters.
func Ops() []Op {
	var ops []Op
	for i, n := range opNames {
		if n != "" {
			ops = append(ops, Op(i))
		}
	}
	return ops
}

// S_RESOLVE's flags.
const (
	FlagRotate       = 1 // rotate the token
	FlagCheckBinding = 2 // the body goes on with onMismatch, ip, userAgent: check the binding
	FlagWantCSRF     = 4 // reply with the session's CSRF token
	resolveFlags     = FlagRotate | FlagCheckBinding | FlagWantCSRF
)

// S_CREATE's createFlags and S_REGENERATE's flags.
const (
	CreateRemember = 1 // remember-me session
	createFlags    = CreateRemember
	RegenKeepData  = 1 // keep the data (the data field must be empty)
	regenFlags     = RegenKeepData
)

// Secret is one named secret of CONFIGURE.
type Secret struct {
	Name  []byte
	Value []byte
}

// Request is a decoded request. Only the fields of its op are set. Byte slices alias the frame.
type Request struct {
	ID uint32
	Op Op
	// Deadline is when the caller gives up on the request (Unix ms, 0 = none): the request
	// header's deadline. A change still pending then is not applied (session.Deadline).
	Deadline int64

	// CONFIGURE
	ProtocolVersion uint16
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

	// HasExt: the body carries its op's extension fields (S_CREATE, S_UPDATE), which a body
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
}

// PeekHeader returns the id and op of a payload of at least 5 bytes.
func PeekHeader(payload []byte) (uint32, Op) {
	return binary.LittleEndian.Uint32(payload), Op(payload[4])
}

// DecodeRequest decodes a request payload (at least 5 bytes, as ReadFrame guarantees).
// Errors are *xerr.Error: UNKNOWN_OP or BAD_REQUEST naming the op and field.
func DecodeRequest(payload []byte, req *Request) error {
	*req = Request{}
	if len(payload) < headerSize {
		return xerr.New(xerr.BadRequest, "frame payload shorter than 5 bytes")
	}
	req.ID, req.Op = PeekHeader(payload)
	if !req.Op.Known() {
		return xerr.New(xerr.UnknownOp, "unknown op 0x%02x", uint8(req.Op))
	}
	d := NewDecoder(payload[headerSize:])
	switch req.Op {
	case OpConfigure:
		req.ProtocolVersion = d.U16("protocolVersion")
		req.ConfigJSON = d.Bytes("configJson")
		n := d.U16("nSecrets")
		for i := 0; i < int(n) && d.field == ""; i++ {
			name := d.Str("secret name")
			value := d.Bytes("secret value")
			req.Secrets = append(req.Secrets, Secret{Name: name, Value: value})
		}
	case OpPing, OpShutdown, OpStats:
	case OpKVSet:
		req.Sandbox = d.Str("sandbox")
		req.Key = d.Bytes("key")
		req.Value = d.Bytes("value")
		req.TTLMs = d.U64("ttlMs")
	case OpKVGet, OpKVDel, OpKVHas, OpKVTTL:
		req.Sandbox = d.Str("sandbox")
		req.Key = d.Bytes("key")
	case OpKVTouch:
		req.Sandbox = d.Str("sandbox")
		req.Key = d.Bytes("key")
		req.TTLMs = d.U64("ttlMs")
	case OpKVScan:
		req.Sandbox = d.Str("sandbox")
		req.Key = d.Bytes("prefix")
		req.Cursor = d.Str("cursor")
		req.Limit = d.U32("limit")
	case OpClear:
		req.Sandbox = d.Str("sandbox")
	case OpSCreate:
		req.Sandbox = d.Str("sandbox")
		req.Value = d.Bytes("data")
		req.TTLMs = d.U64("ttlMs")
		req.IdleMs = d.U64("idleMs")
		req.UserID = d.Str("userId")
		req.Meta = d.Bytes("meta")
		if req.HasExt = !d.Done(); req.HasExt {
			req.CreateFlags = d.U8("createFlags")
			req.MaxPerUser = d.U32("maxSessions")
			req.OnLimit = d.U8("onLimit")
			req.BindMode = d.U8("bindMode")
			req.IP = d.Str("ip")
			req.UserAgent = d.Str("userAgent")
		}
	case OpSResolve:
		req.Sandbox = d.Str("sandbox")
		req.Token = d.Str("token")
		req.Flags = d.U8("flags")
		req.GraceMs = d.U64("graceMs")
		req.MinRotateMs = d.U64("minRotateIntervalMs")
		if req.Flags&FlagCheckBinding != 0 {
			req.OnMismatch = d.U8("onMismatch")
			req.IP = d.Str("ip")
			req.UserAgent = d.Str("userAgent")
		}
	case OpSUpdate:
		req.Sandbox = d.Str("sandbox")
		req.Token = d.Str("token")
		req.Value = d.Bytes("data")
		if req.HasExt = !d.Done(); req.HasExt {
			req.GraceMs = d.U64("graceMs")
		}
	case OpSRegen:
		req.Sandbox = d.Str("sandbox")
		req.Token = d.Str("token")
		req.GraceMs = d.U64("graceMs")
		req.Flags = d.U8("flags")
		req.Value = d.Bytes("data")
	case OpSRevoke:
		req.Sandbox = d.Str("sandbox")
		req.Token = d.Str("token")
	case OpSList:
		req.Sandbox = d.Str("sandbox")
		req.UserID = d.Str("userId")
	case OpSRevokeAll:
		req.Sandbox = d.Str("sandbox")
		req.UserID = d.Str("userId")
		req.Token = d.Str("except")
	case OpSRevokeID:
		req.Sandbox = d.Str("sandbox")
		req.SessionID = d.Str("sessionId")
	}
	if field, why, ok := d.Err(); !ok {
		return xerr.New(xerr.BadRequest, "%s: %s %s", req.Op, field, why)
	}
	if req.Op == OpSResolve && req.Flags&^resolveFlags != 0 {
		return xerr.New(xerr.BadRequest, "S_RESOLVE: flags has unknown bits 0x%02x", req.Flags&^resolveFlags)
	}
	if req.Op == OpSCreate && req.CreateFlags&^createFlags != 0 {
		return xerr.New(xerr.BadRequest, "S_CREATE: createFlags has unknown bits 0x%02x", req.CreateFlags&^createFlags)
	}
	if req.Op == OpSRegen && req.Flags&^regenFlags != 0 {
		return xerr.New(xerr.BadRequest, "S_REGENERATE: flags has unknown bits 0x%02x", req.Flags&^regenFlags)
	}
	return nil
}
