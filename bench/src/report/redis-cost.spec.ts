import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS } from '../config';
import type { LoadResult } from '../load/load-client';
import { redisCost, redisCostLine, redisCostTable } from './redis-cost';
import type { BenchReport, RunRecord, ScenarioSummary } from './summary';

function run(ok: number, commands: Record<string, [number, number]>, reads: number): RunRecord {
  const result = {
    ok,
    errors: 0,
    redis: {
      commands: Object.fromEntries(Object.entries(commands).map(([k, [calls, usec]]) => [k, { calls, usec }])),
      reads,
      commandsProcessed: Object.values(commands).reduce((a, [calls]) => a + calls, 0),
    },
  } as unknown as LoadResult;
  return { run: 1, scenario: 'xems-redis:/me', result, serverRssBytes: 0, storeRssBytes: 0, problems: [] };
}

function summary(key: string, runs: RunRecord[]): ScenarioSummary {
  const spec = SCENARIOS.find((s) => s.key === key)!;
  return { spec, runs, median: { redisCpuUsPerReq: 12.5 } as ScenarioSummary['median'] };
}

test('per request: medians over the runs of calls and usec, a command missing from a run counts 0', () => {
  const s = summary('xems-redis:/me', [
    run(1000, { evalsha: [1000, 20_000], hget: [1000, 2000] }, 1000),
    run(2000, { evalsha: [2000, 44_000], hget: [2000, 4000], ping: [2, 2] }, 2000),
    run(1000, { evalsha: [1000, 30_000], hget: [1000, 2000] }, 1000),
  ]);
  const c = redisCost(s)!;
  assert.deepEqual(
    c.commands.map((x) => [x.command, x.callsPerReq, x.usecPerReq]),
    [
      ['evalsha', 1, 22],
      ['hget', 1, 2],
      ['ping', 0, 0],
    ],
  );
  assert.equal(c.readsPerReq, 1);
  assert.equal(c.cpuUsPerReq, 12.5);
  assert.match(
    redisCostLine(c),
    /^1\.00 client socket reads, 2\.00 commands \(EVALSHA 1\.00, HGET 1\.00\), 12\.5 µs redis-server CPU per request$/,
  );
});

test('the table labels scripts and says the total is an upper bound only when scripts ran', () => {
  const withScripts = summary('xems-redis:/me', [run(100, { evalsha: [100, 2000], hget: [100, 200] }, 100)]);
  const plain = summary('redis-2:/me-rotate', [run(100, { get: [100, 100], set: [100, 100] }, 10)]);
  const bare = summary('bare:/me', []);
  const report = { summaries: [withScripts, plain, bare] } as unknown as BenchReport;
  const t = redisCostTable(report)!;
  assert.match(t, /`EVALSHA` \(script\) \| 1\.00 \| 20\.0 \| 20\.0 \|/);
  assert.match(t, /6 nestjs-xems on Redis, 2 instances `\/me` \| \*\*total \(at most/);
  assert.match(t, /7 express-session \+ connect-redis, 2 instances `\/me-rotate` \| \*\*total\*\* \| 2\.00 \| 2\.0 \|/);
  assert.doesNotMatch(t, /bare/);
  // A run without counters (an app that does not use Redis) gives no table at all.
  assert.equal(redisCostTable({ summaries: [bare] } as unknown as BenchReport), undefined);
});
