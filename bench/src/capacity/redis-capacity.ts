/**
 * The capacity model's Redis inputs: `node build/capacity/redis-capacity.js '<json CapacityJob>'`,
 * prints one JSON line.
 *
 * - mode "standalone": on a fresh redis-server, N sessions of 256-byte data created THROUGH xems
 *   (Redis store), first without a user, then N more each with its own user (so each carries one
 *   user index of one entry: the most index per session there can be). used_memory, redis-server
 *   CPU and commands are read around each phase; then resolve+rotate from the library at 16 in
 *   flight for a bounded time (CPU and commands per call).
 * - mode "cluster-fill": N sessions without a user created on the 3-master cluster, then the keys
 *   each master holds.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { finishAsChild } from '../infra/child-result';
import { callsDelta, commandCallsOf, dbsize, usedMemory } from '../infra/cluster';
import { cpuMicros } from '../infra/proc';
import { SESSION_SANDBOX, createSessions, sessionData } from '../micro/memory';
import { startXems, type XemsServiceApi } from '../micro/xems-context';

export interface CapacityJob {
  mode: 'standalone' | 'cluster-fill';
  entries: number;
  /** standalone: the server; cluster-fill: the masters. */
  ports: number[];
  pids: number[];
  /** How long resolve+rotate runs (standalone). */
  resolveMs: number;
}

/** What one phase (a batch of operations) cost Redis. */
export interface RedisPhase {
  ops: number;
  ms: number;
  usedMemoryDeltaBytes: number;
  redisCpuUs: number;
  commands: Record<string, number>;
}

export interface CapacityResult {
  mode: CapacityJob['mode'];
  entries: number;
  /** standalone */
  withoutUser?: RedisPhase;
  withUser?: RedisPhase;
  resolveRotate?: RedisPhase;
  /** cluster-fill: keys per master after the fill, in the order of ports. */
  keysPerMaster?: number[];
  problems: string[];
}

const TTL_MS = 3_600_000;
const IN_FLIGHT = 16;
const SETTLE_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function storeOptions(job: CapacityJob): Parameters<typeof startXems>[0] {
  const url = (p: number): string => `redis://127.0.0.1:${p}`;
  return {
    store:
      job.mode === 'cluster-fill'
        ? { type: 'redis', cluster: job.ports.map(url), keyPrefix: 'cap:' }
        : { type: 'redis', url: url(job.ports[0]), keyPrefix: 'cap:' },
    // A secret for this run only (the Redis store needs one; it never leaves this process tree).
    persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
    hardwareBinding: { id: 'bench-capacity' },
  };
}

/** Runs `work` and measures what it cost the servers (memory after SETTLE_MS, CPU, commands). */
async function measure(job: CapacityJob, work: () => Promise<number>): Promise<RedisPhase> {
  const memBefore = await usedMemory(job.ports[0]);
  const cpuBefore = job.pids.map(cpuMicros);
  const cmdBefore = await commandCallsOf(job.ports);
  const t0 = performance.now();
  const ops = await work();
  const ms = performance.now() - t0;
  const cpuAfter = job.pids.map(cpuMicros);
  const commands = callsDelta(cmdBefore, await commandCallsOf(job.ports));
  await sleep(SETTLE_MS);
  const usedMemoryDeltaBytes = (await usedMemory(job.ports[0])) - memBefore;
  const redisCpuUs = cpuAfter.reduce((a, b, k) => a + b - cpuBefore[k], 0);
  return { ops, ms, usedMemoryDeltaBytes, redisCpuUs, commands };
}

/** Sessions n..n+entries-1, each with its own user (u<i>), IN_FLIGHT calls in flight. */
async function createWithUsers(xems: XemsServiceApi, entries: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries) {
      const i = next++;
      await xems.createSession(SESSION_SANDBOX, sessionData(i), { ttl: TTL_MS, userId: `cap-user-${i}` });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return entries;
}

/** resolve+rotate for `ms`: each worker follows its own session (as a client following cookies). */
async function resolveRotate(xems: XemsServiceApi, ms: number, problems: string[]): Promise<number> {
  const deadline = performance.now() + ms;
  let ops = 0;
  const worker = async (k: number): Promise<void> => {
    let token = await xems.createSession(SESSION_SANDBOX, sessionData(k), { ttl: TTL_MS });
    while (performance.now() < deadline) {
      const r = await xems.resolveSession(token, { rotate: true });
      if (!r) {
        problems.push('capacity: resolve+rotate lost its session');
        return;
      }
      token = r.token;
      ops++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, k) => worker(k)));
  return ops;
}

export async function runCapacity(job: CapacityJob): Promise<CapacityResult> {
  const problems: string[] = [];
  const { xems, close } = await startXems(storeOptions(job));
  try {
    if (job.mode === 'cluster-fill') {
      await createSessions(xems, job.entries);
      return { mode: job.mode, entries: job.entries, keysPerMaster: await Promise.all(job.ports.map(dbsize)), problems };
    }
    const withoutUser = await measure(job, async () => (await createSessions(xems, job.entries), job.entries));
    const withUser = await measure(job, () => createWithUsers(xems, job.entries));
    const resolved = await measure(job, () => resolveRotate(xems, job.resolveMs, problems));
    const keys = await dbsize(job.ports[0]);
    // Without a user: one key per session; with a user: the session and its index.
    if (keys < 3 * job.entries)
      problems.push(`capacity: redis holds ${keys} keys after ${2 * job.entries} sessions, expected at least ${3 * job.entries}`);
    return { mode: job.mode, entries: job.entries, withoutUser, withUser, resolveRotate: resolved, problems };
  } finally {
    await close();
  }
}

if (require.main === module) {
  finishAsChild(runCapacity(JSON.parse(process.argv[2] ?? '{}') as CapacityJob));
}
