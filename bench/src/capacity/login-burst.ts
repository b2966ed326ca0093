/**
 * Logins over HTTP for the capacity check: `POST /login` as new users, IN_FLIGHT at a time,
 * alternating the app's instances, while the cost to the Redis servers is read around the burst
 * (CPU from /proc of each redis-server, commands from INFO commandstats).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { callsDelta, commandCallsOf } from '../infra/cluster';
import { cpuMicros } from '../infra/proc';

export interface LoginBurst {
  logins: number;
  failed: number;
  ms: number;
  /** redis-server CPU over the burst, per server. */
  redisCpuUs: number[];
  commands: Record<string, number>;
}

const IN_FLIGHT = 16;
const TIMEOUT_MS = 10_000;

function login(agent: http.Agent, port: number, userId: string): Promise<boolean> {
  const body = JSON.stringify({ userId });
  return new Promise((resolve) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/login', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 && (res.headers['set-cookie'] ?? []).some((c) => c.startsWith('xems_token='))));
      res.on('error', () => resolve(false));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** `count` logins (users burst-0 .. burst-<count-1>) against `appPorts`. */
export async function loginBurst(appPorts: number[], redisPorts: number[], redisPids: number[], count: number): Promise<LoginBurst> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const cpuBefore = redisPids.map(cpuMicros);
  const cmdBefore = await commandCallsOf(redisPorts);
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      if (!(await login(agent, appPorts[i % appPorts.length], `burst-${i}`))) failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    agent.destroy();
  }
  const ms = performance.now() - t0;
  const redisCpuUs = redisPids.map((pid, k) => cpuMicros(pid) - cpuBefore[k]);
  return { logins: count, failed, ms, redisCpuUs, commands: callsDelta(cmdBefore, await commandCallsOf(redisPorts)) };
}
