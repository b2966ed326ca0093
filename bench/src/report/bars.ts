/**
 * The bars of issue 18 (ratios between apps, and to the pipe's floor, measured in the same run)
 * and issue 7's memory and vault bars. Each bar names what it compares.
 */
import { BARS, FLOOR_DEPTH } from '../config';
import { f1, f2, mib, ratio, seconds } from './format';
import { find, microCase, type BenchReport, type ScenarioMedians } from './summary';

export interface Bar {
  name: string;
  measured: string;
  target: string;
  pass: boolean | undefined;
}

/** Sidecar CPU per request of an app: its store CPU less redis-server's (app 6), or all of it (app 4). */
export function sidecarCpuUsPerReq(m: ScenarioMedians): number {
  return Number.isFinite(m.redisCpuUsPerReq) ? m.storeCpuUsPerReq - m.redisCpuUsPerReq : m.storeCpuUsPerReq;
}

/**
 * A bar on a / b: at least `min` (or at most `max`) times. `show` formats the two sides for the
 * measured column; the ratio follows.
 */
function ratioBar(
  name: string,
  a: number | undefined,
  b: number | undefined,
  limit: { min: number } | { max: number },
  show: (x: number) => string = (x) => f1(x),
): Bar {
  const target = 'min' in limit ? `>= ${limit.min}x` : `<= ${limit.max}x`;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) {
    return { name, measured: 'not measured', target, pass: undefined };
  }
  const pass = 'min' in limit ? a >= limit.min * b : a <= limit.max * b;
  // A miss by less than the last shown digit (0.8499x against 0.85x) shows more digits.
  const shown = Number((a / b).toFixed(2));
  const hides = !pass && ('min' in limit ? shown >= limit.min : shown <= limit.max);
  return { name, measured: `${show(a)} vs ${show(b)} = ${hides ? `${(a / b).toFixed(4)}x` : ratio(a, b)}`, target, pass };
}

export function bars(report: BenchReport): Bar[] {
  const app4 = find(report, 'xems:/me')?.median;
  const app2rot = find(report, 'redis:/me-rotate')?.median;
  const bare = find(report, 'bare:/me')?.median;
  const app6 = find(report, 'xems-redis:/me')?.median;
  const app7rot = find(report, 'redis-2:/me-rotate')?.median;
  const rot16 = microCase(report, 'xems resolve+rotate', FLOOR_DEPTH)?.median;
  const floor16 = microCase(report, 'raw-floor PING', FLOOR_DEPTH)?.median;
  const us = (x: number): string => `${f1(x)} µs`;
  const ms = (x: number): string => `${f2(x)} ms`;
  const rps = (x: number): string => `${x.toFixed(0)} req/s`;
  const ops = (x: number): string => `${x.toFixed(0)} ops/s`;
  const out: Bar[] = [
    ratioBar(
      'req/s: app 4 `/me` (xems, rotation every request) vs app 1 (bare NestJS) `/me`',
      app4?.rps,
      bare?.rps,
      { min: BARS.rotateVsBare },
      rps,
    ),
    ratioBar(
      'req/s: app 4 `/me` vs app 2 (express-session + connect-redis) `/me-rotate`',
      app4?.rps,
      app2rot?.rps,
      { min: BARS.rotateVsRedisRotate },
      rps,
    ),
    ratioBar('p99: app 4 `/me` vs app 1 (bare NestJS) `/me`', app4?.p99, bare?.p99, { max: BARS.p99VsBare }, ms),
    ratioBar(
      'redis-server CPU per request: app 6 `/me` (xems on Redis, 2 instances, rotating) vs app 7 (connect-redis, 2 instances) `/me-rotate`',
      app6?.redisCpuUsPerReq,
      app7rot?.redisCpuUsPerReq,
      { max: BARS.redisCpuVsConnectRedis },
      us,
    ),
    ratioBar(
      'sidecar CPU per request: app 6 `/me` (Redis store, both sidecars) vs app 4 `/me` (memory store)',
      app6 && sidecarCpuUsPerReq(app6),
      app4 && sidecarCpuUsPerReq(app4),
      { max: BARS.redisSidecarCpuVsMemory },
      us,
    ),
    ratioBar('req/s: app 6 `/me` vs app 7 `/me-rotate`', app6?.rps, app7rot?.rps, { min: BARS.sharedVsConnectRedis }, rps),
    ratioBar(
      'micro ops/s at 16 in flight: xems resolve+rotate vs raw-floor PING (the pipe with no work)',
      rot16?.opsPerSec,
      floor16?.opsPerSec,
      { min: BARS.microRotateVsFloor },
      ops,
    ),
    ratioBar(
      'micro Node CPU per call at 16 in flight: xems resolve+rotate vs raw-floor PING',
      rot16?.nodeCpuUsPerOp,
      floor16?.nodeCpuUsPerOp,
      { max: BARS.microNodeCpuVsFloor },
      (x) => `${f2(x)} µs`,
    ),
  ];
  const mem = report.memory;
  out.push(
    ratioBar(
      `RSS: sidecar vs redis-server, ${mem ? mem.entries.toLocaleString('en-US') : '1,000,000'} entries of 256 bytes`,
      mem?.sidecar.rssBytes,
      mem?.redis.rssBytes,
      { max: BARS.memoryVsRedis },
      (x) => `${mib(x)} MiB`,
    ),
  );
  const vault = report.vault;
  out.push({
    name: `vault load time for ${vault ? vault.entries.toLocaleString('en-US') : '1,000,000'} sessions`,
    measured: vault ? `${seconds(vault.medianMs)} (median of ${vault.reloads.length})` : 'not measured',
    target: `< ${BARS.vaultLoadMs / 1000} s`,
    pass: vault ? vault.medianMs < BARS.vaultLoadMs : undefined,
  });
  return out;
}

export const verdict = (b: Bar): string => (b.pass === undefined ? 'not measured' : b.pass ? 'PASS' : 'MISS');

/** App 6 (or 6s, sticky users) `/me` req/s against app 7 `/me-rotate`. */
export function sharedRatio(report: BenchReport, key = 'xems-redis:/me'): string {
  const a = find(report, key)?.median;
  const b = find(report, 'redis-2:/me-rotate')?.median;
  return a && b ? ratio(a.rps, b.rps) : 'not measured';
}
