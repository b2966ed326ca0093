/**
 * The load client for every app: `node build/load/load-client.js '<json LoadJob>'`, prints one
 * JSON LoadResult line. 50 keep-alive connections, each a user with its own cookie jar that
 * logs in once and then loops on one endpoint, following every Set-Cookie. A request that fails
 * (wrong status, wrong body, network error) counts as an error; after a 401 (the client lost its
 * session, e.g. a rotated token it did not get) the user logs in again. With several ports (one
 * app started several times), each user alternates them request by request, so every other
 * request reaches another instance than the one that answered the previous one.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { finishAsChild } from '../infra/child-result';
import { cpuMicros, machineCpuMicros } from '../infra/proc';
import { diffRedisCounters, redisCounterReader, type RedisCounters } from '../infra/redis-stats';
import { CookieJar } from './cookie-jar';
import { percentiles, Samples, type Percentiles } from './stats';

export interface LoadJob {
  /** The app's instances; each user sends its requests to them in turn. */
  ports: number[];
  path: string;
  /** Session cookie name, or null when the app has no session (bare). */
  cookie: string | null;
  /** Expected fragment of the /me body for user i: '{i}' is replaced by the user's index. */
  expect: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Processes whose CPU time is measured over the window: the app's processes and its stores. */
  serverPids: number[];
  storePids: number[];
  /** The redis-servers the app uses (a cluster's masters): their INFO counters are read at the start and end of the window, added up. */
  redisPorts?: number[];
  /** Each user keeps to one instance (a sticky balancer) instead of alternating them. */
  sticky?: boolean;
}

export interface LoadResult {
  windowMs: number;
  /** Correct answers completed inside the measured window. */
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** Answers that changed the session cookie (rotations the client followed). */
  rotations: number;
  logins: number;
  rps: number;
  latencyMs: Percentiles & { mean: number };
  /** Summed over every process of serverPids / storePids. */
  serverCpuUs: number;
  storeCpuUs: number;
  /** storeCpuUs per process, in the order of storePids. */
  storeCpuUsEach: number[];
  clientCpuUs: number;
  machineBusyUs: number;
  machineTotalUs: number;
  /** What the redis-servers counted over the window (INFO commandstats and stats), when redisPorts was given. */
  redis?: RedisCounters;
}

interface Answer {
  status: number;
  body: string;
  setCookie: string[] | undefined;
}

const REQUEST_TIMEOUT_MS = 10_000;

function send(agent: http.Agent, port: number, method: string, path: string, cookie: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, setCookie: res.headers['set-cookie'] }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const cpuEach = (pids: number[]): number[] => pids.map((pid) => cpuMicros(pid));
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const errorKinds: Record<string, number> = {};
  const latencies = new Samples();
  let ok = 0;
  let rotations = 0;
  let logins = 0;
  let latencySum = 0;

  let windowStart = 0;
  let windowEnd = 0;
  let measuring = false;
  let stopping = false;
  const at = { server: [] as number[], store: [] as number[], client: process.cpuUsage(), machine: machineCpuMicros() };
  const counters = job.redisPorts?.length ? await redisCounterReader(job.redisPorts) : undefined;
  let countersAtStart: Promise<RedisCounters> | undefined;
  const windowTimer = setTimeout(() => {
    measuring = true;
    windowStart = performance.now();
    at.server = cpuEach(job.serverPids);
    at.store = cpuEach(job.storePids);
    at.client = process.cpuUsage();
    at.machine = machineCpuMicros();
    countersAtStart = counters?.read();
  }, job.warmupMs);
  let countersAtEnd: Promise<RedisCounters> | undefined;
  const end = new Promise<{ server: number; store: number[]; client: NodeJS.CpuUsage; machine: { busy: number; total: number } }>(
    (resolve) =>
      setTimeout(() => {
        stopping = true;
        windowEnd = performance.now();
        const client = process.cpuUsage(at.client);
        const machine = machineCpuMicros();
        countersAtEnd = counters?.read();
        resolve({
          server: sum(cpuEach(job.serverPids)) - sum(at.server),
          store: cpuEach(job.storePids).map((us, k) => us - (at.store[k] ?? 0)),
          client,
          machine: { busy: machine.busy - at.machine.busy, total: machine.total - at.machine.total },
        });
      }, job.warmupMs + job.durationMs),
  );

  const error = (kind: string): void => {
    if (measuring && !stopping) errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };

  async function user(i: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const jar = new CookieJar();
    const expect = job.expect.replace('{i}', String(i));
    // Users start on different instances; then each request goes to the next one.
    // Sticky: user i keeps to instance i mod n.
    let turn = i;
    const nextPort = job.sticky ? (): number => job.ports[i % job.ports.length] : (): number => job.ports[turn++ % job.ports.length];
    const login = async (): Promise<boolean> => {
      logins++;
      try {
        const a = await send(agent, nextPort(), 'POST', '/login', jar.cookieHeader(), JSON.stringify({ userId: `u${i}` }));
        jar.update(a.setCookie);
        if (a.status !== 200) error(`login: status ${a.status}`);
        else if (job.cookie && !jar.get(job.cookie)) error('login: no session cookie');
        else return true;
      } catch (err) {
        error(`login: ${(err as Error).message}`);
      }
      return false;
    };

    let loggedIn = await login();
    while (!stopping) {
      if (!loggedIn) {
        loggedIn = await login();
        if (!loggedIn) await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const started = performance.now();
      let a: Answer;
      try {
        a = await send(agent, nextPort(), 'GET', job.path, jar.cookieHeader());
      } catch (err) {
        error(`network: ${(err as Error).message}`);
        continue;
      }
      const done = performance.now();
      const changed = jar.update(a.setCookie);
      const counted = measuring && !stopping;
      if (a.status === 200 && a.body.includes(expect)) {
        if (counted) {
          ok++;
          latencies.push(done - started);
          latencySum += done - started;
          if (job.cookie && changed.includes(job.cookie)) rotations++;
        }
      } else if (a.status === 401) {
        error('401: session lost');
        loggedIn = false;
      } else if (a.status === 200) {
        error('200 with a wrong body');
      } else {
        error(`status ${a.status}`);
      }
    }
    agent.destroy();
  }

  const users = Array.from({ length: job.connections }, (_, i) => user(i));
  const cpu = await end;
  clearTimeout(windowTimer);
  await Promise.all(users);
  const redis =
    countersAtStart && countersAtEnd ? diffRedisCounters(await countersAtStart, await countersAtEnd, job.redisPorts?.length) : undefined;
  counters?.close();

  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  const p = percentiles(latencies.values());
  const windowMs = windowEnd - windowStart;
  return {
    windowMs,
    ok,
    errors,
    errorKinds,
    rotations,
    logins,
    rps: (ok * 1000) / windowMs,
    latencyMs: { ...p, mean: ok ? latencySum / ok : NaN },
    serverCpuUs: cpu.server,
    storeCpuUs: sum(cpu.store),
    storeCpuUsEach: cpu.store,
    clientCpuUs: cpu.client.user + cpu.client.system,
    machineBusyUs: cpu.machine.busy,
    machineTotalUs: cpu.machine.total,
    redis,
  };
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
  finishAsChild(runLoad(job));
}
