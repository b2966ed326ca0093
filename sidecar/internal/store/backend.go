package store

import "github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"

// Backend is what the server's handlers call on a store: *Store (in memory, the default and
// the fast path) and *redisstore.Store (shared through Redis) implement it with the same
// semantics, which internal/storetest checks by running one set of scenarios on both.
type Backend interface {
	KVSet(sandbox, name, value []byte, ttlMs uint64) (int64, error)
	KVGet(sandbox, name, dst []byte) ([]byte, int64, bool, error)
	KVDel(sandbox, name []byte) (bool, error)
	KVHas(sandbox, name []byte) (bool, error)
	KVTTL(sandbox, name []byte) (int64, bool, error)
	KVTouch(sandbox, name []byte, ttlMs uint64) (int64, bool, error)
	KVScan(sandbox, prefix, cursor []byte, limit uint32) ([][]byte, string, error)
	Clear(sandbox []byte) (uint64, error)
	SessionCreateWith(sandbox, data []byte, o CreateOptions) (CreateResult, error)
	SessionResolveWith(sandbox, token []byte, o ResolveOptions, dst []byte) (ResolveResult, error)
	SessionUpdateGrace(sandbox, token, data []byte, graceMs uint64) (int64, bool, error)
	SessionRevokeToken(sandbox, token []byte) (crypto.Digest, bool, error)
	SessionRevokeID(sandbox, sessionID []byte) (bool, error)
	SessionList(sandbox, userID []byte) ([]SessionInfo, error)
	SessionRevokeAllIDs(sandbox, userID, except []byte) ([]crypto.Digest, error)
	SessionRegenerate(sandbox, token []byte, graceMs uint64, keepData bool, data []byte) (RegenerateResult, error)
	Stats() Stats
}

var _ Backend = (*Store)(nil)
