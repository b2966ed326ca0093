package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The variants of BenchmarkScriptCost. Each does what a rotating resolve asks of Redis: compare
// the header, write header and last seen, (idle: slide the expiry), return the data; plain is
// connect-redis's rotation (GET the old session, SET the new one, DEL the old one).

// costResolveInline is scriptResolve without local function definitions.
const costResolveInline = `
local dl = tonumber(ARGV[6])
if dl > 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) >= dl then
    return redis.error_reply('XEMS_DEADLINE_EXCEEDED')
  end
end
local k = KEYS[1]
local cur = redis.call('HMGET', k, 'h', 'l', 'd')
if not cur[1] then return {0} end
if cur[1] ~= ARGV[1] then return {-1, cur[1], cur[2] or '', cur[3] or ''} end
if ARGV[2] ~= '' then
  redis.call('HSET', k, 'h', ARGV[2], 'l', ARGV[3])
else
  redis.call('HSET', k, 'l', ARGV[3])
end
if ARGV[4] ~= '' then redis.call('PEXPIREAT', k, ARGV[4], 'GT') end
return {1, cur[3] or ''}
`

// costResolveBody is scriptResolve as it was before BenchmarkScriptCost (a {1, d} table reply,
// h, l and d read, the HSET arguments built by a local function): the "old" variants.
const costResolveBody = luaDeadline + luaSlide + luaFields + `
local cur = redis.call('HMGET', KEYS[1], 'h', 'l', 'd')
if not cur[1] then return {0} end
if cur[1] ~= ARGV[1] then return {-1, cur[1], cur[2] or '', cur[3] or ''} end
redis.call('HSET', KEYS[1], unpack(fields(ARGV[2], ARGV[3], '')))
slide(KEYS[1], ARGV[4], ARGV[5])
return {1, cur[3] or ''}
`

const costLibrary = "#!lua name=xemscost\n" +
	"redis.register_function('xems_resolve', function(KEYS, ARGV)\n" + costResolveBody + "\nend)\n" +
	"redis.register_function('xems_resolve_inline', function(KEYS, ARGV)\n" + costResolveInline + "\nend)\n" +
	"redis.register_function('xems_empty', function(KEYS, ARGV) return 1 end)\n"

var (
	costEmpty   = redis.NewScript(`return 1`)
	costTime    = redis.NewScript(luaDeadline + `return 1`)
	costNoTime  = redis.NewScript(luaSlide + luaFields + costResolveBody[len(luaDeadline+luaSlide+luaFields):])
	costInline  = redis.NewScript(costResolveInline)
	costShebang = redis.NewScript("#!lua\n" + costResolveInline)
	// costCAS is the resolve without the read of d: the caller reads it with its own HGET.
	costCAS = redis.NewScript(luaDeadline + `
local cur = redis.call('HGET', KEYS[1], 'h')
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'h', ARGV[2], 'l', ARGV[3])
if ARGV[4] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[4], 'GT') end
return 1
`)
	// costRetD: the inline resolve replying the data alone on success (no table).
	costRetD = redis.NewScript(costResolveInline[:len(costResolveInline)-len("return {1, cur[3] or ''}\n")] + "return cur[3] or ''\n")
	costOld  = redis.NewScript(costResolveBody)
	// costCASHL: the compare on h and l (both as this Store last wrote them), no data in the
	// reply: what a Store that kept the sealed data of its recent sessions would need (any write
	// of a session writes a fresh l, so equal h and l mean equal d).
	costCASHL = redis.NewScript(luaDeadline + `
local cur = redis.call('HMGET', KEYS[1], 'h', 'l')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'h', ARGV[2], 'l', ARGV[3])
if ARGV[4] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[4], 'GT') end
return 1
`)
	// costBare is the resolve script's calls without any Lua logic around them.
	costBare = redis.NewScript(`
redis.call('TIME')
local cur = redis.call('HMGET', KEYS[1], 'h', 'l', 'd')
redis.call('HSET', KEYS[1], 'h', ARGV[2], 'l', ARGV[3])
return 1
`)
)

func scriptCostVariants(b *testing.B, ctx context.Context, rc *redis.Client, blobs sessBlobs) []costVariant {
	for _, sc := range []*redis.Script{scriptResolve, scriptCommit, costEmpty, costTime, costNoTime, costInline, costShebang, costCAS, costBare, costRetD, costOld, costCASHL} {
		if err := sc.Load(ctx, rc).Err(); err != nil {
			b.Fatal(err)
		}
	}
	if err := rc.FunctionLoadReplace(ctx, costLibrary).Err(); err != nil {
		b.Fatal(err)
	}
	dl := ms(time.Now().UnixMilli() + 3_600_000)
	now := func() string { return ms(time.Now().UnixMilli()) }
	idleAt := ms(time.Now().UnixMilli() + 1_800_000)
	args := func(k *costKeys, slide string) []any {
		return []any{k.blobs.h, k.blobs.h, k.blobs.l, slide, now(), dl}
	}
	eval := func(sc *redis.Script, slide string) func(p redis.Pipeliner, k *costKeys) {
		return func(p redis.Pipeliner, k *costKeys) { sc.EvalSha(ctx, p, []string{k.sess}, args(k, slide)...) }
	}
	// scriptResolve takes no now argument.
	resolve := func(slide string) func(p redis.Pipeliner, k *costKeys) {
		return func(p redis.Pipeliner, k *costKeys) {
			scriptResolve.EvalSha(ctx, p, []string{k.sess}, k.blobs.h, k.blobs.h, k.blobs.l, slide, dl)
		}
	}
	fcall := func(fn, slide string) func(p redis.Pipeliner, k *costKeys) {
		return func(p redis.Pipeliner, k *costKeys) { p.FCall(ctx, fn, []string{k.sess}, args(k, slide)...) }
	}
	one := func(f func(p redis.Pipeliner, k *costKeys)) []func(p redis.Pipeliner, k *costKeys) {
		return []func(p redis.Pipeliner, k *costKeys){f}
	}
	return []costVariant{
		{name: "plain", steps: []func(p redis.Pipeliner, k *costKeys){
			func(p redis.Pipeliner, k *costKeys) { p.Get(ctx, k.cur) },
			func(p redis.Pipeliner, k *costKeys) { p.Set(ctx, k.next, k.blobs.plain, 24*time.Hour) },
			func(p redis.Pipeliner, k *costKeys) { p.Del(ctx, k.cur) },
		}},
		{name: "resolve", steps: one(resolve(""))},
		{name: "resolve-idle", steps: one(resolve(idleAt))},
		{name: "old", steps: one(eval(costOld, ""))},
		{name: "old-idle", steps: one(eval(costOld, idleAt))},
		{name: "old-resp2", resp2: true, steps: one(eval(costOld, ""))},
		{name: "read+commit", steps: []func(p redis.Pipeliner, k *costKeys){
			func(p redis.Pipeliner, k *costKeys) { p.HMGet(ctx, k.sess, "h", "l", "d") },
			func(p redis.Pipeliner, k *costKeys) {
				scriptCommit.EvalSha(ctx, p, []string{k.sess}, k.blobs.h, k.blobs.h, k.blobs.l, "", "", now(), dl)
			},
		}},
		{name: "old-fcall", steps: one(fcall("xems_resolve", ""))},
		{name: "old-fcall-inline", steps: one(fcall("xems_resolve_inline", ""))},
		{name: "fcall-empty", steps: one(fcall("xems_empty", ""))},
		{name: "old-inline", steps: one(eval(costInline, ""))},
		{name: "old-inline-idle", steps: one(eval(costInline, idleAt))},
		{name: "old-shebang", steps: one(eval(costShebang, ""))},
		{name: "old-notime", steps: one(eval(costNoTime, ""))},
		{name: "empty", steps: one(eval(costEmpty, ""))},
		{name: "time-only", steps: one(eval(costTime, ""))},
		{name: "bare-calls", steps: one(eval(costBare, ""))},
		{name: "empty-noargs", steps: one(func(p redis.Pipeliner, k *costKeys) { costEmpty.EvalSha(ctx, p, nil) })},
		{name: "old-inline-ret-d", steps: one(eval(costRetD, ""))},
		{name: "cas-h-l", steps: one(eval(costCASHL, ""))},
		{name: "cas-only", steps: one(eval(costCAS, ""))},
		{name: "multi-cas+hget", steps: one(func(p redis.Pipeliner, k *costKeys) {
			p.Do(ctx, "MULTI")
			costCAS.EvalSha(ctx, p, []string{k.sess}, args(k, "")...)
			p.HGet(ctx, k.sess, "d")
			p.Do(ctx, "EXEC")
		})},
		{name: "cas+hget", steps: one(func(p redis.Pipeliner, k *costKeys) {
			costCAS.EvalSha(ctx, p, []string{k.sess}, args(k, "")...)
			p.HGet(ctx, k.sess, "d")
		})},
	}
}
