package session

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"

// Backend is what the server's handlers call on a store. The memory store (internal/store, the
// default and the fast path) and the Redis store (internal/redisstore, shared by several
// sidecars) implement it as storage adapters around this package's rules, and
// internal/storetest checks that they answer alike by running one set of scenarios on both. A
// new backend implements this interface and passes storetest.RunAll.
//
// Every operation that changes a record takes the request's deadline first and refuses with
// DEADLINE_EXCEEDED, having changed nothing, once it has passed (see Deadline).
type Backend interface {
	KVSet(dl Deadline, sandbox, name, value []byte, ttlMs uint64) (int64, error)
	KVGet(sandbox, name, dst []byte) ([]byte, int64, bool, error)
	KVDel(dl Deadline, sandbox, name []byte) (bool, error)
	KVHas(sandbox, name []byte) (bool, error)
	KVTTL(sandbox, name []byte) (int64, bool, error)
	KVTouch(dl Deadline, sandbox, name []byte, ttlMs uint64) (int64, bool, error)
	KVScan(sandbox, prefix, cursor []byte, limit uint32) ([][]byte, string, error)
	Clear(dl Deadline, sandbox []byte) (uint64, error)
	SessionCreate(dl Deadline, sandbox, data []byte, o CreateOptions) (CreateResult, error)
	SessionResolve(dl Deadline, sandbox, token []byte, o ResolveOptions, dst []byte) (ResolveResult, error)
	SessionUpdate(dl Deadline, sandbox, token, data []byte, graceMs uint64) (int64, bool, error)
	SessionRevoke(dl Deadline, sandbox, token []byte) (crypto.Digest, bool, error)
	SessionRevokeID(dl Deadline, sandbox, sessionID []byte) (bool, error)
	SessionList(sandbox, userID []byte) ([]SessionInfo, error)
	SessionRevokeAll(dl Deadline, sandbox, userID, except []byte) ([]crypto.Digest, error)
	// SessionRegenerate with auth set is a reauthentication: the new session gets that record.
	SessionRegenerate(dl Deadline, sandbox, token []byte, graceMs uint64, keepData bool, data []byte, auth *Auth) (RegenerateResult, error)
	// SessionRevokeSandbox ends every session of a sandbox (KV records stay); how many.
	SessionRevokeSandbox(dl Deadline, sandbox []byte) (uint64, error)
	// SessionRevokeOthers ends every other session of the user of a token's session (the
	// token must be one SessionRevoke accepts); the ids revoked.
	SessionRevokeOthers(dl Deadline, sandbox, token []byte) ([]crypto.Digest, error)
	// DeviceUpdate applies a device-binding rule (device_ops.go) to the session of a token it
	// accepts (with graceMs) and keeps the device part it leaves; NotFound for other tokens.
	DeviceUpdate(dl Deadline, sandbox, token []byte, graceMs uint64, rule DeviceRule) (DeviceResult, error)
	Stats() Stats
	Peeker
}
