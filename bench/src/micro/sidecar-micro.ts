/**
 * Sidecar micro-benchmark from Node: `node build/micro/sidecar-micro.js '{"redisPort":..,"timing":..}'`.
 * XemsService `from(sandbox).get` and `resolveSession(token, { rotate: true })` against ioredis
 * GET on the same machine in the same run, at 1, 16 and 256 calls in flight, and the floor of
 * the pipe (issue 18): the cheapest client's PING to a sidecar of its own (same binary) at 16 in
 * flight, in the same rounds. Prints one JSON MicroResult line.
 */
import { readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { FLOOR_DEPTH, MICRO_DEPTHS, VALUE_BYTES, type Timing } from '../config';
import { finishAsChild } from '../infra/child-result';
import { cpuMicros } from '../infra/proc';
import { median, percentiles, Samples } from '../load/stats';
import { startRawFloor, type RawFloor } from './raw-floor';
import { startXems, type XemsServiceApi } from './xems-context';

export type MicroOp = 'xems get' | 'xems resolve+rotate' | 'ioredis GET' | 'raw-floor PING';
export const MICRO_OPS: readonly MicroOp[] = ['xems get', 'xems resolve+rotate', 'ioredis GET', 'raw-floor PING'];
const measuredAt = (op: MicroOp, depth: number): boolean => op !== 'raw-floor PING' || depth === FLOOR_DEPTH;

export interface MicroRound {
  ops: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** CPU of this Node process (the caller) per operation. */
  nodeCpuUsPerOp: number;
  /** CPU of the store (xems-sidecar or redis-server) per operation. */
  storeCpuUsPerOp: number;
}

export interface MicroCase {
  op: MicroOp;
  depth: number;
  rounds: MicroRound[];
  median: MicroRound;
}

export interface MicroResult {
  valueBytes: number;
  cases: MicroCase[];
  problems: string[];
}

/** One call of the measured operation by worker `w`; returns false when the answer is wrong. */
type Operation = (w: number) => Promise<boolean>;

const SANDBOX = 'bench.micro';
/** A string whose JSON form (what XemsService stores) is exactly VALUE_BYTES bytes. */
const VALUE = 'v'.repeat(VALUE_BYTES - 2);
const REDIS_VALUE = JSON.stringify(VALUE);

async function measure(op: Operation, depth: number, warmupMs: number, durationMs: number, storePid: number): Promise<MicroRound> {
  let measuring = false;
  let stopping = false;
  let ops = 0;
  let wrong = 0;
  const lat = new Samples();
  const worker = async (w: number): Promise<void> => {
    while (!stopping) {
      const t = performance.now();
      const good = await op(w);
      const dt = performance.now() - t;
      if (!measuring || stopping) continue;
      if (!good) wrong++;
      ops++;
      lat.push(dt * 1000);
    }
  };
  const workers = Array.from({ length: depth }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const store0 = cpuMicros(storePid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  stopping = true;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const store = cpuMicros(storePid) - store0;
  await Promise.all(workers);
  if (wrong) throw new Error(`${wrong} wrong answers`);
  const p = percentiles(lat.values());
  return {
    ops,
    opsPerSec: (ops * 1000) / elapsed,
    p50Us: p.p50,
    p99Us: p.p99,
    nodeCpuUsPerOp: (cpu.user + cpu.system) / ops,
    storeCpuUsPerOp: store / ops,
  };
}

async function prepare(xems: XemsServiceApi, redis: Redis, floor: RawFloor, maxDepth: number): Promise<Record<MicroOp, Operation>> {
  const kv = xems.from(SANDBOX);
  const keys = Array.from({ length: maxDepth }, (_, w) => `key:${w}`);
  for (const k of keys) {
    await kv.set(k, VALUE);
    await redis.set(k, REDIS_VALUE);
  }
  // One session per worker; each worker follows its own session's rotations.
  const tokens: string[] = [];
  for (let w = 0; w < maxDepth; w++) tokens.push(await xems.createSession(SANDBOX, { w, pad: VALUE.slice(16) }));

  return {
    'xems get': async (w) => (await kv.get<string>(keys[w])) === VALUE,
    'xems resolve+rotate': async (w) => {
      const r = await xems.resolveSession(tokens[w], { sandbox: SANDBOX, rotate: true });
      if (!r || !r.rotated || r.token === tokens[w]) return false;
      tokens[w] = r.token;
      return (r.data as { w: number }).w === w;
    },
    'ioredis GET': async (w) => (await redis.get(keys[w])) === REDIS_VALUE,
    'raw-floor PING': () => floor.ping(),
  };
}

export async function runMicro(redisPort: number, timing: Timing): Promise<MicroResult> {
  const problems: string[] = [];
  const { xems, sidecarPid, close } = await startXems();
  const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
  await redis.connect();
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  // The floor's sidecar is the very binary the library started.
  const floor = await startRawFloor(readlinkSync(`/proc/${sidecarPid}/exe`));
  const pidOf = (op: MicroOp): number => (op === 'ioredis GET' ? redisPid : op === 'raw-floor PING' ? floor.pid : sidecarPid);
  try {
    const ops = await prepare(xems, redis, floor, Math.max(...MICRO_DEPTHS));
    const cases: MicroCase[] = [];
    for (const depth of MICRO_DEPTHS)
      for (const op of MICRO_OPS) if (measuredAt(op, depth)) cases.push({ op, depth, rounds: [], median: undefined as never });
    // One pass over every operation first, so that the first case measured is not also the one
    // that pays for JIT compilation.
    for (const op of MICRO_OPS) await measure(ops[op], 16, 0, timing.microWarmupMs, pidOf(op));
    for (let round = 0; round < timing.microRounds; round++) {
      for (const c of cases) {
        const storePid = pidOf(c.op);
        try {
          c.rounds.push(await measure(ops[c.op], c.depth, timing.microWarmupMs, timing.microDurationMs, storePid));
        } catch (err) {
          problems.push(`micro ${c.op} at ${c.depth} in flight: ${(err as Error).message}`);
        }
      }
    }
    for (const c of cases) {
      const m = (f: (r: MicroRound) => number): number => median(c.rounds.map(f));
      c.median = {
        ops: m((r) => r.ops),
        opsPerSec: m((r) => r.opsPerSec),
        p50Us: m((r) => r.p50Us),
        p99Us: m((r) => r.p99Us),
        nodeCpuUsPerOp: m((r) => r.nodeCpuUsPerOp),
        storeCpuUsPerOp: m((r) => r.storeCpuUsPerOp),
      };
    }
    return { valueBytes: VALUE_BYTES, cases, problems };
  } finally {
    redis.disconnect();
    await floor.close();
    await close();
  }
}

if (require.main === module) {
  const { redisPort, timing } = JSON.parse(process.argv[2] ?? '{}') as { redisPort: number; timing: Timing };
  finishAsChild(runMicro(redisPort, timing));
}
