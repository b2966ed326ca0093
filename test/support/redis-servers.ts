import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real redis-server processes for the e2e tests, on free 127.0.0.1 ports, without persistence
 * unless a test asks for it, and a minimal RESP client to look inside them.
 * XEMS_TEST_REDIS_URL (redis://127.0.0.1:P) and XEMS_TEST_REDIS_CLUSTER (comma-separated
 * redis:// URLs of the nodes) make the tests use servers started by CI; tests that stop or
 * restart a server always start their own. sidecar/internal/redistest is the Go twin.
 */

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL: what the server had not written to disk is lost. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisCluster {
  nodes: RedisServer[];
  urls: string[];
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Servers still running when this process exits (a failed test, process.exit) are killed with
// it: a child process outlives its parent otherwise.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a redis-server; `extra` are more configuration arguments. */
export async function startRedis(extra: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xems-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      ...extra,
    ];
    let child: ChildProcess | undefined;
    // Resolves with a holder of the exit promise (returning the bare promise from an async
    // function would make the caller wait for the exit).
    const run = async (): Promise<{ exited: Promise<void> }> => {
      const c = spawn('redis-server', args, { stdio: 'ignore' });
      child = c;
      running.add(c);
      const exited = new Promise<void>((resolve) =>
        c.once('exit', () => {
          running.delete(c);
          resolve();
        }),
      );
      child.once('error', () => undefined);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error('redis-server exited at start (is it installed? apt-get install redis-server)');
        try {
          if ((await redisCommand(port, 'PING')) === 'PONG') return { exited };
        } catch {
          // not listening yet
        }
        await sleep(20);
      }
      child.kill('SIGKILL');
      throw new Error('redis-server did not answer PING');
    };
    let exited: Promise<void>;
    try {
      exited = (await run()).exited;
    } catch (err) {
      if (attempt === 4) throw err;
      continue;
    }
    const server: RedisServer = {
      port,
      url: `redis://127.0.0.1:${port}`,
      kill: async () => {
        if (child && child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      },
      restart: async () => {
        exited = (await run()).exited;
      },
      stop: async () => {
        await server.kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return server;
  }
  throw new Error('could not start redis-server');
}

/** Three masters joined into a cluster with redis-cli --cluster create. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    }
    await new Promise<void>((resolve, reject) =>
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
        (err, _out, stderr) => (err ? reject(new Error(`redis-cli --cluster create: ${err.message} ${stderr}`)) : resolve()),
      ),
    );
    const deadline = Date.now() + 10_000;
    for (const n of nodes) {
      while (!String(await redisCommand(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the cluster did not become ok');
        await sleep(50);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, urls: nodes.map((n) => n.url), stop };
}

/**
 * A key prefix of its own for a test on a shared server (CI's runs the suites on three Node
 * versions one after the other, and pids repeat): a prefix's key check refuses another secret.
 */
export function uniqueKeyPrefix(name: string): string {
  return `${name}${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** A standalone server for a test file: CI's (XEMS_TEST_REDIS_URL) or a new one. */
export async function standaloneRedis(): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const env = process.env.XEMS_TEST_REDIS_URL;
  if (env) return { url: env, port: Number(new URL(env).port), stop: async () => undefined };
  const s = await startRedis();
  return { url: s.url, port: s.port, stop: () => s.stop() };
}

/** A cluster for a test file: CI's (XEMS_TEST_REDIS_CLUSTER) or a new one. */
export async function clusterRedis(): Promise<{ urls: string[]; ports: number[]; stop(): Promise<void> }> {
  const env = process.env.XEMS_TEST_REDIS_CLUSTER;
  if (env) {
    const urls = env.split(',');
    return { urls, ports: urls.map((u) => Number(new URL(u).port)), stop: async () => undefined };
  }
  const c = await startRedisCluster();
  return { urls: c.urls, ports: c.nodes.map((n) => n.port), stop: c.stop };
}

// ---------------------------------------------------------------------------------- RESP

export type RespValue = string | number | null | Buffer | RespValue[] | Error;

/** Sends one command to 127.0.0.1:port and returns its reply (bulk strings as Buffers). */
export function redisCommand(port: number, ...args: Array<string | Buffer>): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    let buf = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('redis command timed out')));
    socket.on('error', reject);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parse(buf, 0);
      if (parsed) {
        socket.end();
        const [value] = parsed;
        if (value instanceof Error) reject(value);
        else
          resolve(
            typeof value === 'object' && value !== null && Buffer.isBuffer(value) && args[0].toString().toUpperCase() !== 'GET'
              ? value.toString()
              : value,
          );
      }
    });
    socket.write(Buffer.concat(parts));
  });
}

/** Parses one RESP2 value at offset; undefined when incomplete. */
function parse(buf: Buffer, at: number): [RespValue, number] | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.subarray(at + 1, eol).toString();
  switch (buf[at]) {
    case 0x2b: // +
      return [line, eol + 2];
    case 0x2d: // -
      return [new Error(line), eol + 2];
    case 0x3a: // :
      return [Number(line), eol + 2];
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      if (buf.length < eol + 2 + n + 2) return undefined;
      return [buf.subarray(eol + 2, eol + 2 + n), eol + 2 + n + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      const out: RespValue[] = [];
      let pos = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        out.push(item[0]);
        pos = item[1];
      }
      return [out, pos];
    }
  }
  throw new Error(`unexpected RESP byte ${buf[at]}`);
}

/** Every key matching pattern on a server (SCAN). */
export async function scanKeys(port: number, pattern = '*'): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redisCommand(port, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000')) as [Buffer, Buffer[]];
    cursor = next.toString();
    keys.push(...batch.map((k) => k.toString('latin1')));
  } while (cursor !== '0');
  return keys;
}

/** Every key matching pattern with its whole value (hash fields, sorted-set members, strings), as bytes. */
export async function dumpKeys(port: number, pattern = '*'): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const key of await scanKeys(port, pattern)) {
    const type = String(await redisCommand(port, 'TYPE', Buffer.from(key, 'latin1')));
    const k = Buffer.from(key, 'latin1');
    let value: RespValue = null;
    if (type === 'hash') value = await redisCommand(port, 'HGETALL', k);
    else if (type === 'zset') value = await redisCommand(port, 'ZRANGE', k, '0', '-1');
    else if (type === 'string') value = await redisCommand(port, 'GET', k);
    const flat = (v: RespValue): Buffer[] =>
      Array.isArray(v) ? v.flatMap(flat) : Buffer.isBuffer(v) ? [v] : v === null ? [] : [Buffer.from(String(v))];
    out.push(Buffer.concat([k, ...flat(value)]));
  }
  return out;
}
