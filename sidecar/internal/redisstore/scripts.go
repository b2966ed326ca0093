package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts that make each change atomic in Redis. Redis runs a script without
// interleaving any other command, so a script is the unit of atomicity; every key a script
// touches is in one hash slot (a session, its user's index and the user's other sessions share
// the hash tag {bb}: see keys in redisstore.go), so the scripts also work on a Redis Cluster.
//
// Scripts never see a key, a token or plaintext: only sealed blobs, keyed hashes (in key names
// and index members) and times. Decisions that need the keys (verifying a token, deriving a
// successor) are made by the sidecar, which then commits them with a compare-and-set on the
// session's sealed header (field h): each write of h uses a fresh random nonce, so equal bytes
// mean "nobody changed the rotation state since I read it".
//
// Times are Unix ms, passed as decimal strings and compared with tonumber (exact below 2^53).
// Expiry times are passed on as the caller's strings, never re-formatted Lua numbers.
//
// Every script that changes something takes the request's deadline (session.Deadline, "0" for
// none) as its LAST argument and, before anything else, compares it with Redis's own clock
// (TIME): once it has passed, the script changes nothing and replies the error
// XEMS_DEADLINE_EXCEEDED (DEADLINE_EXCEEDED to the caller). This is what makes a request that
// waited out a slow link or a stalled sidecar harmless: whatever queued it, it cannot apply
// after its caller gave up. (TIME in a script that writes needs Redis 5 or later, which
// replicates a script's effects rather than the script.)

// luaDeadline refuses the script once the deadline in its last argument has passed.
const luaDeadline = `
do
  local dl = tonumber(ARGV[#ARGV])
  if dl > 0 then
    local t = redis.call('TIME')
    if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) >= dl then
      return redis.error_reply('` + deadlineReply + `')
    end
  end
end
`

// deadlineReply is the error a script replies when its deadline has passed.
const deadlineReply = "XEMS_DEADLINE_EXCEEDED"

// extend moves a key's expiry to `at` if that is later than its current one (a key without
// expiry, PTTL -1, gets it). Shared by the scripts below.
const luaExtend = `
local function extend(key, at, now)
  local t = redis.call('PTTL', key)
  if t < 0 or tonumber(now) + t < tonumber(at) then
    redis.call('PEXPIREAT', key, at)
  end
end
`

// slide is extend for a session key, which always has an expiry (create and regenerate set it
// and nothing removes it): `at` = ” leaves it (a session without idle timeout: its key already
// expires at its absolute expiry); on Redis 7 and later (redis.REDIS_VERSION_NUM, nil before)
// one PEXPIREAT ... GT moves it only later, in one call instead of two (every redis.call costs
// the server a few microseconds).
const luaSlide = luaExtend + `
local function slide(key, at, now)
  if at == '' then return end
  if (redis.REDIS_VERSION_NUM or 0) >= 0x070000 then
    redis.call('PEXPIREAT', key, at, 'GT')
  else
    extend(key, at, now)
  end
end
`

// sessCreate: KEYS[1] the session, KEYS[2] the user's index (absent without a user).
// ARGV: h, d, l, m (” = none), expiresAt, createdAt (index score), absolute expiry (the
// index lives at least that long), maxPerUser (0 = none), policy ('1' = reject), member (the
// session id), member key prefix, now, deadline.
// Returns {0, evicted ids...}, {-1} on a session id collision, {-2, live} when refused.
var scriptCreate = redis.NewScript(luaDeadline + luaExtend + `
local k = KEYS[1]
if redis.call('EXISTS', k) == 1 then return {-1} end
local out = {0}
if #KEYS == 2 then
  local idx = KEYS[2]
  local max = tonumber(ARGV[8])
  if max > 0 then
    local live = {}
    for _, m in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
      if redis.call('EXISTS', ARGV[11] .. m) == 1 then
        live[#live + 1] = m
      else
        redis.call('ZREM', idx, m)
      end
    end
    if #live >= max then
      if ARGV[9] == '1' then return {-2, #live} end
      for i = 1, #live - max + 1 do
        redis.call('DEL', ARGV[11] .. live[i])
        redis.call('ZREM', idx, live[i])
        out[#out + 1] = live[i]
      end
    end
  end
  redis.call('ZADD', idx, ARGV[6], ARGV[10])
  extend(idx, ARGV[7], ARGV[12])
end
if ARGV[4] ~= '' then
  redis.call('HSET', k, 'h', ARGV[1], 'd', ARGV[2], 'l', ARGV[3], 'm', ARGV[4])
else
  redis.call('HSET', k, 'h', ARGV[1], 'd', ARGV[2], 'l', ARGV[3])
end
redis.call('PEXPIREAT', k, ARGV[5])
return out
`)

// sessCommit: the compare-and-set of every change to a live session (rotation, last seen,
// idle sliding, data update). KEYS[1] the session. ARGV: the header read, the new header
// (” = unchanged), the new last-seen blob, the expiry (moved only later; ” = unchanged), the new data
// (” = unchanged), now, deadline. Returns 1 done, 0 the session is gone, -1 it changed
// meanwhile.
var scriptCommit = redis.NewScript(luaDeadline + luaSlide + luaFields + `
local cur = redis.call('HGET', KEYS[1], 'h')
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], unpack(fields(ARGV[2], ARGV[3], ARGV[5])))
slide(KEYS[1], ARGV[4], ARGV[6])
return 1
`)

// luaFields: the arguments of the one HSET that writes a session's new last seen l, and its new
// header h and data d unless they are ” (unchanged).
const luaFields = `
local function fields(h, l, d)
  local f = {'l', l}
  if h ~= '' then f[3] = 'h'; f[4] = h end
  if d ~= '' then f[#f + 1] = 'd'; f[#f + 1] = d end
  return f
end
`

// sessResolve: the compare-and-set of a resolve decided on the session's header as this
// sidecar last read or wrote it (recent.go), and the read, in one call. KEYS[1] the session.
// ARGV: the header decided on, the new header (” = unchanged), the new last-seen blob, the
// expiry (moved only later; ” = unchanged), deadline. Replies by type (resolveReply): the
// current sealed data d (a string) when done, 0 when the session is gone, {h, l, d} when it is
// not at that header (nothing written: the caller decides again on these fields).
//
// It is the script of every rotating request on a sticky instance, so it is written for the
// server's CPU (BenchmarkScriptCost, bench/FINDINGS.md F; together 11-17 % less redis-server
// CPU per one-call request on Redis 7.0 than the script before): the success reply is the
// data alone, not a table (Redis probes a table reply for err/ok/map/set/... fields), the read
// takes only h and d (l only on the rare mismatch, with a second HMGET), the write is one
// inline HSET, and no "now" argument is sent (every argument costs the server; before Redis 7,
// which has no PEXPIREAT ... GT, the expiry compare takes Redis's own TIME instead).
var scriptResolve = redis.NewScript(luaResolve)

const luaResolve = luaDeadline + luaExtend + `
local k = KEYS[1]
local cur = redis.call('HMGET', k, 'h', 'd')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[1] then return redis.call('HMGET', k, 'h', 'l', 'd') end
if ARGV[2] ~= '' then
  redis.call('HSET', k, 'h', ARGV[2], 'l', ARGV[3])
else
  redis.call('HSET', k, 'l', ARGV[3])
end
if ARGV[4] ~= '' then
  if (redis.REDIS_VERSION_NUM or 0) >= 0x070000 then
    redis.call('PEXPIREAT', k, ARGV[4], 'GT')
  else
    local t = redis.call('TIME')
    extend(k, ARGV[4], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  end
end
return cur[2] or ''
`

// resolveReply reads scriptResolve's reply as a code and its string fields: 1 and {d} done, 0
// and none gone, -1 and {h, l, d} not at that header. Any other reply is an error (logged as an
// unexpected reply), never a panic or a misread field. A field Redis returns as nil (absent:
// the session was removed between the two reads of a mismatch) is "".
func resolveReply(reply any) (int64, []string, error) {
	switch r := reply.(type) {
	case string:
		return 1, []string{r}, nil
	case int64:
		if r == 0 {
			return 0, nil, nil
		}
	case []any:
		if len(r) == 3 {
			fields := make([]string, 3)
			for i, v := range r {
				s, ok := v.(string)
				if !ok && v != nil {
					return 0, nil, fmt.Errorf("malformed resolve reply (field %d)", i)
				}
				fields[i] = s
			}
			return -1, fields, nil
		}
		return 0, nil, fmt.Errorf("malformed resolve reply (%d elements)", len(r))
	}
	return 0, nil, fmt.Errorf("malformed resolve reply (%T)", reply)
}

// sessDelete: KEYS[1] the session, KEYS[2] the user's index (absent without a user); ARGV[1]
// the member, ARGV[2] the deadline. Returns 1 if the session existed.
var scriptDelete = redis.NewScript(luaDeadline + `
local n = redis.call('DEL', KEYS[1])
if #KEYS == 2 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return n
`)

// sessList: KEYS[1] the user's index; ARGV[1] the member key prefix. Returns member, h, l, m
// for each live session (oldest first) and drops index members whose session expired.
var scriptList = redis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local r = redis.call('HMGET', ARGV[1] .. m, 'h', 'l', 'm')
  if r[1] then
    out[#out + 1] = m
    out[#out + 1] = r[1]
    out[#out + 1] = r[2] or ''
    out[#out + 1] = r[3] or ''
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`)

// sessRevokeAll: KEYS[1] the user's index; ARGV[1] the member key prefix, ARGV[2] the member
// to keep (” = none), ARGV[3] the deadline. Returns the members of the sessions it removed.
var scriptRevokeAll = redis.NewScript(luaDeadline + `
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. m) == 1 then out[#out + 1] = m end
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`)

// sessRegenerate: KEYS[1] the old session, KEYS[2] the new one (same hash slot), KEYS[3] the
// user's index (absent without a user). ARGV: the old header read, new h, d, l, m (” = none),
// expiresAt, old member, new member, createdAt (index score), deadline. Returns 1 done, 0 the
// old session is gone, -1 it changed meanwhile, -2 the new id is taken.
var scriptRegenerate = redis.NewScript(luaDeadline + `
local cur = redis.call('HGET', KEYS[1], 'h')
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
redis.call('DEL', KEYS[1])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], 'h', ARGV[2], 'd', ARGV[3], 'l', ARGV[4], 'm', ARGV[5])
else
  redis.call('HSET', KEYS[2], 'h', ARGV[2], 'd', ARGV[3], 'l', ARGV[4])
end
redis.call('PEXPIREAT', KEYS[2], ARGV[6])
if #KEYS == 3 then
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('ZADD', KEYS[3], ARGV[9], ARGV[8])
end
return 1
`)

// kvSet: KEYS[1]; ARGV: sealed value, cap (creation + 5 days), expiresAt, deadline.
var scriptKVSet = redis.NewScript(luaDeadline + `
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'c', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`)

// kvGet: KEYS[1]. Returns {sealed value, remaining ms} or nil.
var scriptKVGet = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`)

// kvTouch: KEYS[1]; ARGV[1] now + ttl, ARGV[2] the deadline. Sets the expiry to the earlier of
// that and the record's 5-day cap and returns it (as a string), or nil when absent.
var scriptKVTouch = redis.NewScript(luaDeadline + `
local c = redis.call('HGET', KEYS[1], 'c')
if not c then return false end
local e = ARGV[1]
if tonumber(c) < tonumber(e) then e = c end
redis.call('PEXPIREAT', KEYS[1], e)
return e
`)

// kvDel: KEYS[1]; ARGV[1] the deadline. Returns 1 if the record existed.
var scriptKVDel = redis.NewScript(luaDeadline + `
return redis.call('DEL', KEYS[1])
`)

// clearStart: ARGV[1] the deadline. Changes nothing: CLEAR walks every master with SCAN (it
// is not one atomic step, see Store.Clear) and runs this first, so that it starts only
// before its deadline, by Redis's clock.
var scriptDeadline = redis.NewScript(luaDeadline + `
return 1
`)

// allScripts are loaded on every master when the store starts (EVALSHA then needs no retry).
var allScripts = []*redis.Script{scriptCreate, scriptCommit, scriptResolve, scriptDelete, scriptList, scriptRevokeAll,
	scriptRegenerate, scriptKVSet, scriptKVGet, scriptKVTouch, scriptKVDel, scriptDeadline}
