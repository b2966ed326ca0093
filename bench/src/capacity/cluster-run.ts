/**
 * The capacity section of the bench (`--only cluster`, or after the HTTP runs): the model's Redis
 * inputs on a fresh redis-server (redis-capacity.ts), then the check on a 3-master Redis Cluster:
 * the cluster filled with sessions through xems, app 6 (two xems instances, rotation on every
 * request) started on it and loaded by the usual load client for a bounded time; keys and CPU
 * per master read from each redis-server.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CONNECTIONS, XEMS_REDIS_SECRET_ENV, type Timing } from '../config';
import { runJob, start, stop, type Managed } from '../infra/children';
import { dbsize, startRedisCluster, usedMemory, type RedisClusterInstance } from '../infra/cluster';
import { childPids } from '../infra/proc';
import { freePort } from '../infra/ports';
import { startRedis } from '../infra/redis';
import type { LoadJob, LoadResult } from '../load/load-client';
import { loginBurst, type LoginBurst } from './login-burst';
import type { CapacityJob, CapacityResult } from './redis-capacity';

const CLUSTER_CONNECTIONS = 4 * CONNECTIONS;

export interface ClusterMaster {
  port: number;
  /** Keys after the fill (sessions without a user, through xems). */
  filledKeys: number;
  /** Keys at the end of the load run. */
  keys: number;
  usedMemoryBytes: number;
  /** redis-server CPU over the load window. */
  cpuUs: number;
}

export interface ClusterRun {
  filled: number;
  masters: ClusterMaster[];
  load: LoadResult;
  /** The two sidecars' CPU over the load window. */
  sidecarCpuUs: number;
  /** A burst of HTTP logins after the load run. */
  logins: LoginBurst;
  problems: string[];
}

export interface CapacityReport {
  entries: number;
  inputs: CapacityResult;
  cluster?: ClusterRun;
  problems: string[];
}

export interface CapacityEnv {
  build: string;
  redisBin: string;
  timing: Timing;
  entries: number;
  libEnv: NodeJS.ProcessEnv;
  log(msg: string): void;
}

async function capacityJob(env: CapacityEnv, job: CapacityJob): Promise<CapacityResult> {
  const out = await runJob(
    `capacity (${job.mode})`,
    process.execPath,
    [join(env.build, 'capacity', 'redis-capacity.js'), JSON.stringify(job)],
    30 * 60_000,
    env.libEnv,
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as CapacityResult;
}

/** The model's inputs on a fresh standalone redis-server (stopped at the end). */
async function standaloneInputs(env: CapacityEnv): Promise<CapacityResult> {
  const redis = await startRedis(env.redisBin, 'redis-server (capacity)');
  try {
    const resolveMs = Math.min(env.timing.durationMs, 5000);
    return await capacityJob(env, { mode: 'standalone', entries: env.entries, ports: [redis.port], pids: [redis.proc.pid], resolveMs });
  } finally {
    await redis.stop();
  }
}

/** App 6 (xems on Redis, two instances) with the cluster as its store. */
async function startClusterApp(env: CapacityEnv, cluster: RedisClusterInstance): Promise<{ ports: number[]; procs: Managed[] }> {
  const secret = `base64:${randomBytes(32).toString('base64')}`;
  const ports: number[] = [];
  const procs: Managed[] = [];
  for (let n = 1; n <= 2; n++) {
    const port = await freePort();
    const args = [
      join(env.build, 'apps', 'main.js'),
      '--app',
      'xems-redis',
      '--port',
      String(port),
      '--redis-cluster',
      cluster.urls.join(','),
    ];
    const appEnv = { ...env.libEnv, NODE_ENV: 'production', [XEMS_REDIS_SECRET_ENV]: secret };
    procs.push(
      await start(`app 6 on the cluster, instance ${n}`, process.execPath, args, {
        env: appEnv,
        ready: /^READY$/m,
        readyTimeoutMs: 30_000,
      }),
    );
    ports.push(port);
  }
  return { ports, procs };
}

async function clusterCheck(env: CapacityEnv): Promise<ClusterRun> {
  const problems: string[] = [];
  const cluster = await startRedisCluster(env.redisBin);
  const masterPorts = cluster.nodes.map((n) => n.port);
  const masterPids = cluster.nodes.map((n) => n.proc.pid);
  env.log(`cluster: 3 masters on 127.0.0.1:${masterPorts.join(', ')}; filling with ${env.entries} sessions through xems`);
  try {
    const fill = await capacityJob(env, { mode: 'cluster-fill', entries: env.entries, ports: masterPorts, pids: masterPids, resolveMs: 0 });
    problems.push(...fill.problems);
    const app = await startClusterApp(env, cluster);
    try {
      const sidecars = app.procs.map((p) => childPids(p.pid, 'xems-sidecar')[0]).filter((x): x is number => x !== undefined);
      if (sidecars.length !== 2) problems.push(`cluster: expected 2 xems-sidecar processes, found ${sidecars.length}`);
      const job: LoadJob = {
        ports: app.ports,
        path: '/me',
        cookie: 'xems_token',
        expect: '"userId":"u{i}"',
        // More users than the HTTP runs: each is one live session, and the CPU split over the
        // masters follows where those sessions' hash tags land.
        connections: CLUSTER_CONNECTIONS,
        warmupMs: env.timing.warmupMs,
        durationMs: env.timing.durationMs,
        serverPids: app.procs.map((p) => p.pid),
        storePids: [...sidecars, ...masterPids],
        redisPorts: masterPorts,
      };
      env.log(`cluster: app 6 (2 instances) /me for ${env.timing.durationMs / 1000} s`);
      const out = await runJob(
        'load client (cluster)',
        process.execPath,
        [join(env.build, 'load', 'load-client.js'), JSON.stringify(job)],
        job.warmupMs + job.durationMs + 60_000,
      );
      const load = JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
      if (load.ok === 0) problems.push('cluster: no correct answer');
      if (load.errors) problems.push(`cluster: ${load.errors} errors (${JSON.stringify(load.errorKinds)})`);
      if (load.rotations !== load.ok) problems.push(`cluster: expected a rotation on every answer, got ${load.rotations} of ${load.ok}`);
      const masters: ClusterMaster[] = [];
      for (const [k, port] of masterPorts.entries()) {
        masters.push({
          port,
          filledKeys: fill.keysPerMaster?.[k] ?? NaN,
          keys: await dbsize(port),
          usedMemoryBytes: await usedMemory(port),
          cpuUs: load.storeCpuUsEach[sidecars.length + k] ?? NaN,
        });
      }
      // Logins through the apps (no user: the bench app's link carries none), after the keys were read.
      const logins = await loginBurst(app.ports, masterPorts, masterPids, Math.max(100, Math.min(2000, Math.floor(env.entries / 10))));
      if (logins.failed) problems.push(`cluster: ${logins.failed} of ${logins.logins} logins failed`);
      return {
        filled: env.entries,
        masters,
        load,
        logins,
        sidecarCpuUs: load.storeCpuUsEach.slice(0, sidecars.length).reduce((a, b) => a + b, 0),
        problems,
      };
    } finally {
      await Promise.all(app.procs.map((p) => stop(p)));
    }
  } finally {
    await cluster.stop();
  }
}

/** The section runs unless skipped; with `--only`, only when the list names `cluster`. */
export function capacityWanted(skip: boolean | undefined, only: string[] | undefined): boolean {
  return !skip && (!only || only.includes('cluster'));
}

export async function runCapacitySection(env: CapacityEnv, withCluster: boolean): Promise<CapacityReport> {
  env.log(`capacity inputs: ${env.entries} sessions of 256 bytes through xems into a fresh redis-server (without, then with a user)`);
  const inputs = await standaloneInputs(env);
  const problems = [...inputs.problems];
  let cluster: ClusterRun | undefined;
  if (withCluster) {
    cluster = await clusterCheck(env);
    problems.push(...cluster.problems);
    const n = cluster.load.ok + cluster.load.errors || 1;
    env.log(
      `cluster: keys per master ${cluster.masters.map((m) => m.filledKeys).join(' / ')}, ` +
        `Redis CPU per request ${cluster.masters.map((m) => (m.cpuUs / n).toFixed(1)).join(' + ')} µs, ${cluster.load.rps.toFixed(0)} req/s`,
    );
  }
  return { entries: env.entries, inputs, cluster, problems };
}
