/**
 * A 3-master Redis Cluster for the capacity check: three redis-server processes on free
 * 127.0.0.1 ports (no persistence, temp directories removed at stop) joined with
 * `redis-cli --cluster create` (no replicas), the way test/support/redis-servers.ts makes the
 * tests' cluster. Also the readers of each node's INFO (keys, memory, command counts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { start, stop, type Managed } from './children';
import { freePort } from './ports';
import { callsOf, parseRedisCounters } from './redis-stats';

export interface ClusterNode {
  port: number;
  proc: Managed;
}

export interface RedisClusterInstance {
  nodes: ClusterNode[];
  urls: string[];
  stop(): Promise<void>;
}

const MASTERS = 3;
const READY_TIMEOUT_MS = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startNode(bin: string, n: number, dirs: string[]): Promise<ClusterNode> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'xems-bench-cluster-'));
  dirs.push(dir);
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes', '--save', '', '--appendonly', 'no'];
  args.push('--daemonize', 'no', '--dir', dir, '--logfile', '', '--loglevel', 'notice');
  args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000');
  const proc = await start(`redis-server (cluster master ${n})`, bin, args, {
    ready: /Ready to accept connections/,
    readyTimeoutMs: 10_000,
    stopBy: 'SIGTERM',
  });
  return { port, proc };
}

function clusterCreate(redisCli: string, ports: number[]): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'];
  return new Promise((resolve, reject) =>
    execFile(redisCli, args, { timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`redis-cli --cluster create failed: ${err.message} ${stderr}`)) : resolve(),
    ),
  );
}

/** Starts the three masters and waits until every node reports cluster_state:ok. */
export async function startRedisCluster(bin: string): Promise<RedisClusterInstance> {
  const nodes: ClusterNode[] = [];
  const dirs: string[] = [];
  const stopAllNodes = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => stop(n.proc)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let n = 1; n <= MASTERS; n++) nodes.push(await startNode(bin, n, dirs));
    // redis-cli ships beside redis-server (Debian's redis-tools); else whichever is on PATH.
    const beside = join(bin, '..', 'redis-cli');
    await clusterCreate(
      existsSync(beside) ? beside : 'redis-cli',
      nodes.map((n) => n.port),
    );
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const n of nodes) {
      while (!(await call(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node 127.0.0.1:${n.port} did not reach cluster_state:ok`);
        await sleep(100);
      }
    }
  } catch (err) {
    await stopAllNodes();
    throw err;
  }
  return { nodes, urls: nodes.map((n) => `redis://127.0.0.1:${n.port}`), stop: stopAllNodes };
}

/** One command on one node (a short-lived connection: the readers run a few times per run). */
async function call(port: number, ...command: string[]): Promise<string> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    await r.connect();
    return String(await r.call(command[0], ...command.slice(1)));
  } finally {
    r.disconnect();
  }
}

export const nodeInfo = (port: number, section: string): Promise<string> => call(port, 'INFO', section);

/** Keys held by one node (its share of the cluster's keyspace). */
export async function dbsize(port: number): Promise<number> {
  return Number(await call(port, 'DBSIZE'));
}

/** INFO memory's used_memory, in bytes. */
export async function usedMemory(port: number): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await nodeInfo(port, 'memory'))?.[1] ?? NaN);
}

/** INFO commandstats as command -> calls, without the harness's own commands (redis-stats.ts). */
export async function commandCalls(port: number): Promise<Record<string, number>> {
  return callsOf(parseRedisCounters(await nodeInfo(port, 'commandstats')));
}

/** Sums command counts over several nodes. */
export async function commandCallsOf(ports: number[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const counts of await Promise.all(ports.map(commandCalls))) {
    for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

/** after - before, per command (commands that did not run are left out). */
export function callsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
