/** The tables and notes of RESULTS.md, one per measurement. */
import type { MemoryResult } from '../micro/memory';
import { FLOOR_DEPTH } from '../config';
import type { MicroCase, MicroResult } from '../micro/sidecar-micro';
import type { VaultLoadResult } from '../micro/vault-load';
import { f0, f1, f2, mib, ratio, scenarioLabel, seconds, table } from './format';
import { appOf, find, perRun, type BenchReport, type ScenarioSummary } from './summary';

/** The first columns of the tables of medians: the app, its rate, latencies and errors. */
const MEDIAN_COLUMNS = ['app and endpoint', 'req/s', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors (all runs)'];

function medianCells(s: ScenarioSummary): string[] {
  const m = s.median;
  return [scenarioLabel(s.spec), f0(m.rps), f2(m.p50), f2(m.p975), f2(m.p99), String(m.errors)];
}

export function httpMedianTable(report: BenchReport): string {
  const bare = find(report, 'bare:/me')?.median.rps ?? NaN;
  const r2 = find(report, 'redis:/me')?.median.rps ?? NaN;
  const r2rot = find(report, 'redis:/me-rotate')?.median.rps ?? NaN;
  return table(
    [
      ...MEDIAN_COLUMNS,
      'server CPU µs/req',
      'store CPU µs/req',
      'server RSS MiB',
      'store RSS MiB',
      'vs app 1 `/me`',
      'vs app 2 `/me`',
      'vs app 2 `/me-rotate`',
    ],
    report.summaries.map((s) => {
      const m = s.median;
      return [
        ...medianCells(s),
        f1(m.serverCpuUsPerReq),
        appOf(s.spec.key).usesRedis || appOf(s.spec.key).usesSidecar ? f1(m.storeCpuUsPerReq) : '-',
        mib(m.serverRssBytes),
        appOf(s.spec.key).usesRedis || appOf(s.spec.key).usesSidecar ? mib(m.storeRssBytes) : '-',
        ratio(m.rps, bare),
        ratio(m.rps, r2),
        ratio(m.rps, r2rot),
      ];
    }),
  );
}

export function rawRunsTable(report: BenchReport): string {
  return table(
    [
      'run',
      'app and endpoint',
      'req/s',
      'p50 ms',
      'p97.5 ms',
      'p99 ms',
      'max ms',
      'errors',
      'rotations',
      'server CPU µs/req',
      'store CPU µs/req',
      'client CPU µs/req',
      'server RSS MiB',
      'store RSS MiB',
      'other load (cores)',
    ],
    report.runs.map((rec) => {
      const p = perRun(rec);
      const spec = report.summaries.find((s) => s.spec.key === rec.scenario)!.spec;
      return [
        String(rec.run),
        scenarioLabel(spec),
        f0(p.rps),
        f2(p.p50),
        f2(p.p975),
        f2(p.p99),
        f2(rec.result.latencyMs.max),
        rec.result.errors
          ? `${rec.result.errors} (${Object.entries(rec.result.errorKinds)
              .map(([k, n]) => `${k}: ${n}`)
              .join(', ')})`
          : '0',
        String(rec.result.rotations),
        f1(p.serverCpuUsPerReq),
        f1(p.storeCpuUsPerReq),
        f1(p.clientCpuUsPerReq),
        mib(p.serverRssBytes),
        mib(p.storeRssBytes),
        f2(p.otherCores),
      ];
    }),
  );
}

export function microTables(micro: MicroResult): string {
  const get = (op: MicroCase['op'], d: number): number => micro.cases.find((c) => c.op === op && c.depth === d)?.median.opsPerSec ?? NaN;
  const floor = micro.cases.find((c) => c.op === 'raw-floor PING')?.median;
  const vsFloor = (c: MicroCase): string[] =>
    floor && c.depth === FLOOR_DEPTH
      ? [ratio(c.median.opsPerSec, floor.opsPerSec), ratio(c.median.nodeCpuUsPerOp, floor.nodeCpuUsPerOp)]
      : ['-', '-'];
  const med = table(
    [
      'operation',
      'in flight',
      'ops/s',
      'p50 µs',
      'p99 µs',
      'Node CPU µs/op',
      'store CPU µs/op',
      'vs ioredis GET (same depth)',
      `ops/s vs raw-floor PING (${FLOOR_DEPTH})`,
      `Node CPU vs raw-floor PING (${FLOOR_DEPTH})`,
    ],
    micro.cases.map((c) => [
      c.op,
      String(c.depth),
      f0(c.median.opsPerSec),
      f1(c.median.p50Us),
      f1(c.median.p99Us),
      f2(c.median.nodeCpuUsPerOp),
      f2(c.median.storeCpuUsPerOp),
      ratio(c.median.opsPerSec, get('ioredis GET', c.depth)),
      ...vsFloor(c),
    ]),
  );
  const raw = table(
    ['operation', 'in flight', 'round', 'ops', 'ops/s', 'p50 µs', 'p99 µs', 'Node CPU µs/op', 'store CPU µs/op'],
    micro.cases.flatMap((c) =>
      c.rounds.map((r, i) => [
        c.op,
        String(c.depth),
        String(i + 1),
        String(r.ops),
        f0(r.opsPerSec),
        f1(r.p50Us),
        f1(r.p99Us),
        f2(r.nodeCpuUsPerOp),
        f2(r.storeCpuUsPerOp),
      ]),
    ),
  );
  return `${med}\n\nEvery round:\n\n${raw}`;
}

export function memoryTable(mem: MemoryResult): string {
  return table(
    ['process', 'RSS before', 'RSS holding the entries', 'peak RSS', 'load time', 'bytes per entry (RSS growth)'],
    [
      [
        'xems-sidecar',
        `${mib(mem.sidecar.baselineRssBytes)} MiB`,
        `${mib(mem.sidecar.rssBytes)} MiB`,
        `${mib(mem.sidecar.peakRssBytes)} MiB`,
        `${f1(mem.sidecar.loadMs / 1000)} s`,
        f0((mem.sidecar.rssBytes - mem.sidecar.baselineRssBytes) / mem.entries),
      ],
      [
        'redis-server',
        `${mib(mem.redis.baselineRssBytes)} MiB`,
        `${mib(mem.redis.rssBytes)} MiB`,
        `${mib(mem.redis.peakRssBytes)} MiB`,
        `${f1(mem.redis.loadMs / 1000)} s`,
        f0((mem.redis.rssBytes - mem.redis.baselineRssBytes) / mem.entries),
      ],
    ],
  );
}

export function vaultTables(vault: VaultLoadResult, mem: MemoryResult | undefined): string {
  const v = vault.vault;
  const files = `${mib(v.totalBytes)} MiB: snapshot ${mib(v.snapshotBytes)} MiB + ${v.journals} journal file(s) ${mib(v.journalBytes)} MiB`;
  const summary = table(
    ['what', 'value'],
    [
      ['reload time, median', `**${seconds(vault.medianMs)}**`],
      ['every reload', vault.reloads.map((r) => seconds(r.ms)).join(', ')],
      ['start on an empty vault (the same steps, nothing to load)', seconds(vault.emptyStartMs)],
      ['vault on disk after the clean close', files],
      [
        `fill: ${vault.entries.toLocaleString('en-US')} createSession, journaled`,
        `${f1(vault.fillMs / 1000)} s${mem && mem.entries === vault.entries ? ` (without persistence, in the memory comparison: ${f1(mem.sidecar.loadMs / 1000)} s)` : ''}`,
      ],
      ['clean close after the fill (app.close())', seconds(vault.closeMs)],
    ],
  );
  const runs = table(
    ['reload', 'time', 'sessions loaded (stats)', 'kept sessions verified', 'sidecar RSS'],
    vault.reloads.map((r, i) => [
      String(i + 1),
      seconds(r.ms),
      r.sessions.toLocaleString('en-US'),
      `${r.verified} of ${vault.sampled}`,
      `${mib(r.sidecarRssBytes)} MiB`,
    ]),
  );
  return `${summary}\n\nEvery reload:\n\n${runs}`;
}

/** Issue 8: app 6 `/me` (xems on Redis, 2 instances) beside app 7 (connect-redis, 2 instances). */
const SHARED_KEYS = ['xems-redis:/me', 'xems-redis:/me sticky', 'redis-2:/me-rotate', 'redis-2:/me'] as const;

export function sharedRedisTable(report: BenchReport): string | undefined {
  const rows = SHARED_KEYS.map((k) => find(report, k)).filter((x): x is ScenarioSummary => x !== undefined);
  if (!rows.length) return undefined;
  const b = find(report, 'redis-2:/me-rotate')?.median.rps ?? NaN;
  return table(
    [
      ...MEDIAN_COLUMNS,
      'both Node apps CPU µs/req',
      'sidecars CPU µs/req',
      'redis-server CPU µs/req',
      'total CPU µs/req',
      'vs app 7 `/me-rotate`',
    ],
    rows.map((s) => {
      const m = s.median;
      const sidecars = appOf(s.spec.key).usesSidecar ? m.storeCpuUsPerReq - m.redisCpuUsPerReq : NaN;
      return [
        ...medianCells(s),
        f1(m.serverCpuUsPerReq),
        appOf(s.spec.key).usesSidecar ? f1(sidecars) : '-',
        f1(m.redisCpuUsPerReq),
        f1(m.serverCpuUsPerReq + m.storeCpuUsPerReq),
        ratio(m.rps, b),
      ];
    }),
  );
}

export function otherLoadNote(report: BenchReport): string {
  const loads = report.runs.map((r) => perRun(r).otherCores);
  if (!loads.length) return '';
  const avg = loads.reduce((a, b) => a + b, 0) / loads.length;
  const max = Math.max(...loads);
  const busy = avg >= 0.1;
  return (
    `Other processes on the machine used ${avg.toFixed(2)} cores on average during the HTTP runs (max ${max.toFixed(2)}; ` +
    `measured from /proc/stat minus the app, its store and the client). ` +
    (busy
      ? '**Other work was running during this run**: absolute numbers are lower than on an idle machine; the ratios were measured side by side under the same conditions.'
      : 'The machine was otherwise idle.')
  );
}
