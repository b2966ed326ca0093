import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS } from '../config';
import type { MicroCase, MicroRound } from '../micro/sidecar-micro';
import { bars, sharedRatio, sidecarCpuUsPerReq, verdict, type Bar } from './bars';
import type { BenchReport, ScenarioMedians, ScenarioSummary } from './summary';

function medians(m: Partial<ScenarioMedians>): ScenarioMedians {
  const base: ScenarioMedians = {
    rps: NaN,
    p50: NaN,
    p975: NaN,
    p99: NaN,
    errors: 0,
    serverCpuUsPerReq: NaN,
    storeCpuUsPerReq: NaN,
    redisCpuUsPerReq: NaN,
    clientCpuUsPerReq: NaN,
    serverRssBytes: 0,
    storeRssBytes: 0,
    otherCores: 0,
  };
  return { ...base, ...m };
}

function summary(key: string, m: Partial<ScenarioMedians>): ScenarioSummary {
  const spec = SCENARIOS.find((s) => s.key === key);
  assert.ok(spec, key);
  return { spec, runs: [], median: medians(m) };
}

function micro(op: MicroCase['op'], opsPerSec: number, nodeCpuUsPerOp: number): MicroCase {
  const r: MicroRound = { ops: 1, opsPerSec, p50Us: 1, p99Us: 1, nodeCpuUsPerOp, storeCpuUsPerOp: 1 };
  return { op, depth: 16, rounds: [r], median: r };
}

function report(summaries: ScenarioSummary[], cases: MicroCase[] = []): BenchReport {
  return {
    quick: false,
    timing: {
      runs: 1,
      warmupMs: 0,
      durationMs: 1,
      microRounds: 1,
      microWarmupMs: 0,
      microDurationMs: 1,
      memoryEntries: 1,
      vaultReloads: 1,
    },
    startedAt: '2026-12-07T00:00:00.000Z',
    command: 'test',
    machine: { cpu: 'x', cores: 2, memory: 'x', os: 'x', kernel: 'x', loadAvg: '0' } as BenchReport['machine'],
    versions: {},
    runs: [],
    summaries,
    micro: cases.length ? { valueBytes: 256, cases, problems: [] } : undefined,
    problems: [],
  };
}

const byName = (bs: Bar[], start: string): Bar => {
  const b = bs.find((x) => x.name.startsWith(start));
  assert.ok(b, `no bar starting with ${start}`);
  return b;
};

/** A run where every issue-18 bar is met exactly at its limit (limits are inclusive). */
const atTheLimits = (): BenchReport =>
  report(
    [
      summary('bare:/me', { rps: 1000, p99: 20 }),
      summary('redis:/me-rotate', { rps: 850 / 1.5, p99: 40 }),
      summary('xems:/me', { rps: 850, p99: 25, storeCpuUsPerReq: 10 }),
      summary('xems-redis:/me', { rps: 600, storeCpuUsPerReq: 45, redisCpuUsPerReq: 15 }),
      summary('redis-2:/me-rotate', { rps: 400, redisCpuUsPerReq: 15 }),
    ],
    [micro('xems resolve+rotate', 80_000, 6), micro('raw-floor PING', 100_000, 4)],
  );

test('every issue-18 bar passes at its limit and names the apps it compares', () => {
  const bs = bars(atTheLimits());
  const issue18 = bs.slice(0, 8);
  assert.deepEqual(
    issue18.map(verdict),
    issue18.map(() => 'PASS'),
    JSON.stringify(issue18, null, 1),
  );
  assert.equal(byName(bs, 'req/s: app 4 `/me` (xems').measured, '850 req/s vs 1000 req/s = 0.85x');
  assert.equal(byName(bs, 'p99: app 4').measured, '25.00 ms vs 20.00 ms = 1.25x');
  // App 6's sidecars: its store CPU (45) less redis-server's (15) = 30 = 3x app 4's 10.
  assert.equal(byName(bs, 'sidecar CPU per request').measured, '30.0 µs vs 10.0 µs = 3.00x');
  assert.match(byName(bs, 'redis-server CPU per request').name, /app 6 .*app 7 .*\/me-rotate/);
  assert.equal(byName(bs, 'micro ops/s at 16').measured, '80000 ops/s vs 100000 ops/s = 0.80x');
  assert.equal(byName(bs, 'micro Node CPU').target, '<= 1.5x');
});

test('each issue-18 bar misses just past its limit', () => {
  const r = atTheLimits();
  const tweak = (key: string, m: Partial<ScenarioMedians>): void => {
    const s = r.summaries.find((x) => x.spec.key === key)!;
    s.median = { ...s.median, ...m };
  };
  tweak('xems:/me', { rps: 849, p99: 25.01, storeCpuUsPerReq: 9.9 });
  tweak('xems-redis:/me', { rps: 599, redisCpuUsPerReq: 15.1 });
  r.micro!.cases[0].median = { ...r.micro!.cases[0].median, opsPerSec: 79_999, nodeCpuUsPerOp: 6.01 };
  const bs = bars(r);
  for (const start of [
    'req/s: app 4 `/me` (xems',
    'req/s: app 4 `/me` vs app 2',
    'p99: app 4',
    'redis-server CPU per request',
    'sidecar CPU per request',
    'req/s: app 6',
    'micro ops/s',
    'micro Node CPU',
  ]) {
    assert.equal(verdict(byName(bs, start)), 'MISS', start);
  }
});

test('a miss that two decimals would round onto the limit shows four', () => {
  const r = atTheLimits();
  r.summaries.find((x) => x.spec.key === 'xems-redis:/me')!.median.rps = 599.6;
  const b = byName(bars(r), 'req/s: app 6');
  assert.equal(verdict(b), 'MISS');
  assert.equal(b.measured, '600 req/s vs 400 req/s = 1.4990x');
  assert.equal(byName(bars(atTheLimits()), 'req/s: app 6').measured, '600 req/s vs 400 req/s = 1.50x');
});

test('a bar whose apps or floor were not measured says so instead of passing or failing', () => {
  const bs = bars(report([summary('bare:/me', { rps: 1000, p99: 20 })]));
  for (const b of bs) {
    assert.equal(b.pass, undefined, b.name);
    assert.equal(b.measured, 'not measured');
    assert.equal(verdict(b), 'not measured');
  }
  // A zero or NaN denominator is not a measurement either.
  const zero = bars(report([summary('bare:/me', { rps: 0, p99: 20 }), summary('xems:/me', { rps: 100, p99: 20 })]));
  assert.equal(verdict(byName(zero, 'req/s: app 4 `/me` (xems')), 'not measured');
});

test('sidecar CPU: app 6 subtracts redis-server, app 4 (no Redis) keeps all of its store', () => {
  assert.equal(sidecarCpuUsPerReq(medians({ storeCpuUsPerReq: 50, redisCpuUsPerReq: 20 })), 30);
  assert.equal(sidecarCpuUsPerReq(medians({ storeCpuUsPerReq: 8 })), 8);
});

test('the shared ratio covers app 6 and the sticky app 6s against app 7 /me-rotate', () => {
  const r = atTheLimits();
  r.summaries.push(summary('xems-redis:/me sticky', { rps: 800 }));
  assert.equal(sharedRatio(r), '1.50x');
  assert.equal(sharedRatio(r, 'xems-redis:/me sticky'), '2.00x');
  assert.equal(sharedRatio(report([])), 'not measured');
});
