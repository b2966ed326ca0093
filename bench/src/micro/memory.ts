/**
 * Memory: `node build/micro/memory.js '{"redisPort":..,"redisPid":..,"entries":N}'`.
 * RSS of a fresh xems sidecar holding N sessions of 256-byte data against a fresh redis-server
 * holding N 256-byte values under session-like keys with the same TTL. Prints one JSON line.
 * The session data and the fill loop are shared with the vault load benchmark (vault-load.ts).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { VALUE_BYTES } from '../config';
import { finishAsChild } from '../infra/child-result';
import { peakRssBytes, rssBytes } from '../infra/proc';
import { startXems, type XemsServiceApi } from './xems-context';

export interface HeldMemory {
  baselineRssBytes: number;
  rssBytes: number;
  peakRssBytes: number;
  loadMs: number;
}

export interface MemoryResult {
  entries: number;
  valueBytes: number;
  sidecar: HeldMemory;
  redis: HeldMemory & { usedMemoryBytes: number };
  problems: string[];
}

const TTL_SECONDS = 3600;
const IN_FLIGHT = 512;
const PIPELINE = 10_000;
const SETTLE_MS = 2000;

/** The sandbox every benchmark session lives in (the module's default). */
export const SESSION_SANDBOX = 'xems.session';

/** Session data whose JSON form is exactly VALUE_BYTES bytes, different for every session. */
export function sessionData(i: number): { d: string } {
  const head = `${i}:`;
  return { d: head + 'x'.repeat(VALUE_BYTES - 8 - head.length) }; // {"d":"..."} adds 8 bytes
}

/**
 * Creates sessions 0..entries-1 (sessionData(i), 1 h TTL) with IN_FLIGHT calls in flight.
 * Returns the time taken and the tokens of the sessions `keep` selects (to check them later).
 */
export async function createSessions(
  xems: XemsServiceApi,
  entries: number,
  keep: (i: number) => boolean = () => false,
): Promise<{ ms: number; tokens: Map<number, string> }> {
  const tokens = new Map<number, string>();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries) {
      const i = next++;
      const token = await xems.createSession(SESSION_SANDBOX, sessionData(i), { ttl: TTL_SECONDS * 1000 });
      if (keep(i)) tokens.set(i, token);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { ms: performance.now() - t0, tokens };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fillSidecar(entries: number, problems: string[]): Promise<HeldMemory> {
  const { xems, sidecarPid, close } = await startXems();
  try {
    await sleep(500);
    const baselineRssBytes = rssBytes(sidecarPid);
    if (JSON.stringify(sessionData(entries)).length !== VALUE_BYTES) problems.push('memory: session data is not 256 bytes');
    const { ms: loadMs } = await createSessions(xems, entries);
    await sleep(SETTLE_MS);
    // Spot-check that the sessions are really held.
    const probe = await xems.createSession(SESSION_SANDBOX, sessionData(0), { ttl: TTL_SECONDS * 1000 });
    if (!(await xems.resolveSession(probe, { rotate: false }))) problems.push('memory: a created session could not be resolved');
    return { baselineRssBytes, rssBytes: rssBytes(sidecarPid), peakRssBytes: peakRssBytes(sidecarPid), loadMs };
  } finally {
    await close();
  }
}

async function fillRedis(port: number, pid: number, entries: number, problems: string[]): Promise<MemoryResult['redis']> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  await redis.connect();
  try {
    const baselineRssBytes = rssBytes(pid);
    const t0 = performance.now();
    for (let start = 0; start < entries; start += PIPELINE) {
      const p = redis.pipeline();
      for (let i = start; i < Math.min(entries, start + PIPELINE); i++) {
        // connect-redis keys: "sess:" + express-session's 32-character id.
        p.set(`sess:${randomBytes(24).toString('base64url')}`, JSON.stringify(sessionData(i)), 'EX', TTL_SECONDS);
      }
      await p.exec();
    }
    const loadMs = performance.now() - t0;
    await sleep(SETTLE_MS);
    const dbsize = await redis.dbsize();
    if (dbsize !== entries) problems.push(`memory: redis holds ${dbsize} keys, expected ${entries}`);
    const usedMemoryBytes = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    return { baselineRssBytes, rssBytes: rssBytes(pid), peakRssBytes: peakRssBytes(pid), loadMs, usedMemoryBytes };
  } finally {
    redis.disconnect();
  }
}

export async function runMemory(redisPort: number, redisPid: number, entries: number): Promise<MemoryResult> {
  const problems: string[] = [];
  const sidecar = await fillSidecar(entries, problems);
  const redis = await fillRedis(redisPort, redisPid, entries, problems);
  return {
    entries,
    valueBytes: VALUE_BYTES,
    sidecar,
    redis,
    problems,
  };
}

if (require.main === module) {
  const { redisPort, redisPid, entries } = JSON.parse(process.argv[2] ?? '{}') as { redisPort: number; redisPid: number; entries: number };
  finishAsChild(runMemory(redisPort, redisPid, entries));
}
