/** The bars of issue 7 (ratios against the other apps) and the shared-Redis comparison of issue 8. */
import { BARS } from '../config';
import { f2, mib, ratio, seconds } from './format';
import { find, microCase, type BenchReport } from './summary';

export interface Bar {
  name: string;
  measured: string;
  target: string;
  pass: boolean | undefined;
}

export function bars(report: BenchReport): Bar[] {
  const xems = find(report, 'xems:/me')?.median;
  const redisRotate = find(report, 'redis:/me-rotate')?.median;
  const bare = find(report, 'bare:/me')?.median;
  const rot16 = microCase(report, 'xems resolve+rotate', 16)?.median;
  const get16 = microCase(report, 'ioredis GET', 16)?.median;
  const mem = report.memory;
  const out: Bar[] = [];
  const has = (...xs: (object | undefined)[]): boolean => xs.every((x) => x !== undefined);
  out.push({
    name: 'app 4 `/me` (rotation every request) req/s vs app 2 `/me-rotate`',
    measured: has(xems, redisRotate) ? ratio(xems!.rps, redisRotate!.rps) : 'not measured',
    target: `>= ${BARS.rotateVsRedisRotate}x`,
    pass: has(xems, redisRotate) ? xems!.rps >= BARS.rotateVsRedisRotate * redisRotate!.rps : undefined,
  });
  out.push({
    name: 'app 4 `/me` req/s vs app 1 (bare) `/me`',
    measured: has(xems, bare) ? ratio(xems!.rps, bare!.rps) : 'not measured',
    target: `>= ${BARS.rotateVsBare}x`,
    pass: has(xems, bare) ? xems!.rps >= BARS.rotateVsBare * bare!.rps : undefined,
  });
  out.push({
    name: 'app 4 `/me` p99 vs app 2 `/me-rotate` p99',
    measured: has(xems, redisRotate) ? `${f2(xems!.p99)} ms vs ${f2(redisRotate!.p99)} ms` : 'not measured',
    target: 'no higher',
    pass: has(xems, redisRotate) ? xems!.p99 <= redisRotate!.p99 : undefined,
  });
  out.push({
    name: 'sidecar resolve+rotate ops/s at 16 in flight vs ioredis GET at 16',
    measured: has(rot16, get16) ? ratio(rot16!.opsPerSec, get16!.opsPerSec) : 'not measured',
    target: `>= ${BARS.microRotateVsRedisGet16}x`,
    pass: has(rot16, get16) ? rot16!.opsPerSec >= BARS.microRotateVsRedisGet16 * get16!.opsPerSec : undefined,
  });
  out.push({
    name: 'Node CPU per resolve+rotate at 16 in flight',
    measured: rot16 ? `${f2(rot16.nodeCpuUsPerOp)} µs` : 'not measured',
    target: `<= ${BARS.microNodeCpuUsPerOp} µs`,
    pass: rot16 ? rot16.nodeCpuUsPerOp <= BARS.microNodeCpuUsPerOp : undefined,
  });
  out.push({
    name: `sidecar RSS vs redis-server RSS, ${mem ? mem.entries.toLocaleString('en-US') : '1,000,000'} entries of 256 bytes`,
    measured: mem
      ? `${mib(mem.sidecar.rssBytes)} MiB vs ${mib(mem.redis.rssBytes)} MiB = ${ratio(mem.sidecar.rssBytes, mem.redis.rssBytes)}`
      : 'not measured',
    target: `<= ${BARS.memoryVsRedis}x`,
    pass: mem ? mem.sidecar.rssBytes <= BARS.memoryVsRedis * mem.redis.rssBytes : undefined,
  });
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

/** Issue 8: app 6 `/me` (xems on Redis, 2 instances) req/s against app 7 `/me-rotate`; no bar is set. */
export function sharedRatio(report: BenchReport): string {
  const a = find(report, 'xems-redis:/me')?.median;
  const b = find(report, 'redis-2:/me-rotate')?.median;
  return a && b ? ratio(a.rps, b.rps) : 'not measured';
}
