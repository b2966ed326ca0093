/** Medians, ratios, bars, RESULTS.md and the short console table. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APPS, BARS, CONNECTIONS, MICRO_DEPTHS, type ScenarioSpec, type Timing } from '../config';
import type { MachineInfo } from '../infra/machine';
import type { LoadResult } from '../load/load-client';
import { median } from '../load/stats';
import type { MemoryResult } from '../micro/memory';
import type { MicroCase, MicroResult } from '../micro/sidecar-micro';
import type { VaultLoadResult } from '../micro/vault-load';

export interface RunRecord {
  run: number;
  scenario: string;
  result: LoadResult;
  serverRssBytes: number;
  storeRssBytes: number;
  problems: string[];
}

export interface ScenarioMedians {
  rps: number;
  p50: number;
  p975: number;
  p99: number;
  errors: number;
  serverCpuUsPerReq: number;
  storeCpuUsPerReq: number;
  /** The part of storeCpuUsPerReq spent in redis-server (NaN for apps that do not use it). */
  redisCpuUsPerReq: number;
  clientCpuUsPerReq: number;
  serverRssBytes: number;
  storeRssBytes: number;
  /** CPU used by processes other than this app, its store and the client, in cores. */
  otherCores: number;
}

export interface ScenarioSummary {
  spec: ScenarioSpec;
  runs: RunRecord[];
  median: ScenarioMedians;
}

export interface BenchReport {
  quick: boolean;
  timing: Timing;
  startedAt: string;
  finishedAt?: string;
  command: string;
  machine: MachineInfo;
  machineAfter?: MachineInfo;
  versions: Record<string, string>;
  runs: RunRecord[];
  summaries: ScenarioSummary[];
  micro?: MicroResult;
  memory?: MemoryResult;
  vault?: VaultLoadResult;
  problems: string[];
  /** Processes that ran under the V8 profiler (slower: such a run is not for numbers). */
  profiled?: string[];
}

function perRun(rec: RunRecord): ScenarioMedians {
  const r = rec.result;
  const n = r.ok + r.errors || 1;
  const ownUs = r.serverCpuUs + r.storeCpuUs + r.clientCpuUs;
  // The harness lists redis-server last among an app's store processes.
  const redisUs = appOf(rec.scenario).usesRedis ? (r.storeCpuUsEach?.at(-1) ?? NaN) : NaN;
  return {
    rps: r.rps,
    p50: r.latencyMs.p50,
    p975: r.latencyMs.p975,
    p99: r.latencyMs.p99,
    errors: r.errors,
    serverCpuUsPerReq: r.serverCpuUs / n,
    storeCpuUsPerReq: r.storeCpuUs / n,
    redisCpuUsPerReq: redisUs / n,
    clientCpuUsPerReq: r.clientCpuUs / n,
    serverRssBytes: rec.serverRssBytes,
    storeRssBytes: rec.storeRssBytes,
    otherCores: Math.max(0, (r.machineBusyUs - ownUs) / (r.windowMs * 1000)),
  };
}

export function summarize(scenarios: readonly ScenarioSpec[], runs: RunRecord[]): ScenarioSummary[] {
  return scenarios.map((spec) => {
    const mine = runs.filter((r) => r.scenario === spec.key);
    const per = mine.map(perRun);
    const m = (f: (x: ScenarioMedians) => number): number => median(per.map(f));
    return {
      spec,
      runs: mine,
      median: {
        rps: m((x) => x.rps),
        p50: m((x) => x.p50),
        p975: m((x) => x.p975),
        p99: m((x) => x.p99),
        errors: per.reduce((a, x) => a + x.errors, 0),
        serverCpuUsPerReq: m((x) => x.serverCpuUsPerReq),
        storeCpuUsPerReq: m((x) => x.storeCpuUsPerReq),
        redisCpuUsPerReq: m((x) => x.redisCpuUsPerReq),
        clientCpuUsPerReq: m((x) => x.clientCpuUsPerReq),
        serverRssBytes: m((x) => x.serverRssBytes),
        storeRssBytes: m((x) => x.storeRssBytes),
        otherCores: m((x) => x.otherCores),
      },
    };
  });
}

// ---- formatting ----------------------------------------------------------------------------

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const mib = (b: number): string => (b > 0 ? (b / 2 ** 20).toFixed(1) : 'n/a');
const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function appOf(key: string): (typeof APPS)[number] {
  return APPS.find((a) => key.startsWith(`${a.id}:`))!;
}

function scenarioLabel(s: ScenarioSpec): string {
  const app = APPS.find((a) => a.id === s.app)!;
  return `${app.no} ${app.title} \`${s.path}\``;
}

function find(report: BenchReport, key: string): ScenarioSummary | undefined {
  return report.summaries.find((s) => s.spec.key === key);
}

function microCase(report: BenchReport, op: MicroCase['op'], depth: number): MicroCase | undefined {
  return report.micro?.cases.find((c) => c.op === op && c.depth === depth);
}

interface Bar {
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

/** Issue 8: app 6 `/me` (xems on Redis, 2 instances) against app 7 `/me-rotate`; no bar is set. */
const SHARED_KEYS = ['xems-redis:/me', 'redis-2:/me-rotate', 'redis-2:/me'] as const;

function sharedRatio(report: BenchReport): string {
  const a = find(report, 'xems-redis:/me')?.median;
  const b = find(report, 'redis-2:/me-rotate')?.median;
  return a && b ? ratio(a.rps, b.rps) : 'not measured';
}

function sharedRedisTable(report: BenchReport): string | undefined {
  const rows = SHARED_KEYS.map((k) => find(report, k)).filter((x): x is ScenarioSummary => x !== undefined);
  if (!rows.length) return undefined;
  const b = find(report, 'redis-2:/me-rotate')?.median.rps ?? NaN;
  return table(
    [
      'app and endpoint',
      'req/s',
      'p50 ms',
      'p97.5 ms',
      'p99 ms',
      'errors (all runs)',
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
        scenarioLabel(s.spec),
        f0(m.rps),
        f2(m.p50),
        f2(m.p975),
        f2(m.p99),
        String(m.errors),
        f1(m.serverCpuUsPerReq),
        appOf(s.spec.key).usesSidecar ? f1(sidecars) : '-',
        f1(m.redisCpuUsPerReq),
        f1(m.serverCpuUsPerReq + m.storeCpuUsPerReq),
        ratio(m.rps, b),
      ];
    }),
  );
}

const verdict = (b: Bar): string => (b.pass === undefined ? 'not measured' : b.pass ? 'PASS' : 'MISS');

function httpMedianTable(report: BenchReport): string {
  const bare = find(report, 'bare:/me')?.median.rps ?? NaN;
  const r2 = find(report, 'redis:/me')?.median.rps ?? NaN;
  const r2rot = find(report, 'redis:/me-rotate')?.median.rps ?? NaN;
  return table(
    [
      'app and endpoint',
      'req/s',
      'p50 ms',
      'p97.5 ms',
      'p99 ms',
      'errors (all runs)',
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
        scenarioLabel(s.spec),
        f0(m.rps),
        f2(m.p50),
        f2(m.p975),
        f2(m.p99),
        String(m.errors),
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

function rawRunsTable(report: BenchReport): string {
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

function microTables(micro: MicroResult): string {
  const get = (op: MicroCase['op'], d: number): number => micro.cases.find((c) => c.op === op && c.depth === d)?.median.opsPerSec ?? NaN;
  const med = table(
    ['operation', 'in flight', 'ops/s', 'p50 µs', 'p99 µs', 'Node CPU µs/op', 'store CPU µs/op', 'vs ioredis GET (same depth)'],
    micro.cases.map((c) => [
      c.op,
      String(c.depth),
      f0(c.median.opsPerSec),
      f1(c.median.p50Us),
      f1(c.median.p99Us),
      f2(c.median.nodeCpuUsPerOp),
      f2(c.median.storeCpuUsPerOp),
      ratio(c.median.opsPerSec, get('ioredis GET', c.depth)),
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

function memoryTable(mem: MemoryResult): string {
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

function vaultTables(vault: VaultLoadResult, mem: MemoryResult | undefined): string {
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

function otherLoadNote(report: BenchReport): string {
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

const FINDINGS_FILE = join(__dirname, '..', '..', 'FINDINGS.md');
const FINDINGS_MARK = '<!-- The rest of this file is copied from bench/FINDINGS.md (hand-written). -->';

/** Hand-written analysis (profiles of missed bars), kept across runs in bench/FINDINGS.md. */
function findings(): string {
  return existsSync(FINDINGS_FILE) ? `${FINDINGS_MARK}\n\n${readFileSync(FINDINGS_FILE, 'utf8').trim()}` : '';
}

/** Replaces the findings section of an existing report with the current FINDINGS.md. */
export function refreshFindings(report: string): string {
  const at = report.indexOf(FINDINGS_MARK);
  const head = (at >= 0 ? report.slice(0, at) : report).trimEnd();
  return `${head}\n\n${findings()}\n`;
}

export function renderMarkdown(report: BenchReport): string {
  const t = report.timing;
  const out: string[] = [];
  out.push(
    `# nestjs-xems benchmark results${report.quick ? ' (--quick smoke run: not for numbers)' : ''}${report.profiled ? ` (profiled: ${report.profiled.join(', ')}; not for numbers)` : ''}`,
  );
  out.push('');
  out.push(`Produced by \`${report.command}\` (in \`bench/\`) from ${report.startedAt} to ${report.finishedAt ?? '?'}.`);
  out.push(
    `HTTP: ${CONNECTIONS} keep-alive connections, each with its own cookie jar; warm-up ${t.warmupMs / 1000} s then ${t.durationMs / 1000} s per run, ` +
      `${t.runs} run(s) per app and endpoint, apps alternating; medians reported. Micro-benchmark: ${t.microRounds} round(s) of ${t.microDurationMs / 1000} s per case after ${t.microWarmupMs / 1000} s warm-up.`,
  );
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  const m = report.machine;
  out.push(
    table(
      ['what', 'value'],
      [
        ['CPU', `${m.cpu}, ${m.cores} cores`],
        ['memory', m.memory],
        ['OS', `${m.os}, kernel ${m.kernel}`],
        ['load average at start / end', `${m.loadAvg} / ${report.machineAfter?.loadAvg ?? '?'}`],
        ...Object.entries(report.versions),
      ],
    ),
  );
  out.push('');
  const note = otherLoadNote(report);
  if (note) out.push(note, '');

  out.push('## The bars (issue 7)');
  out.push('');
  const bs = bars(report);
  out.push(
    table(
      ['bar', 'measured', 'target', 'result'],
      bs.map((b) => [b.name, b.measured, b.target, verdict(b)]),
    ),
  );
  out.push('');

  if (report.summaries.length) {
    out.push('## HTTP: medians and ratios');
    out.push('');
    out.push(
      "req/s counts correct answers only (status 200, the logged-in user's own data, the session cookie followed). " +
        'Server CPU is the Node app process (both processes for apps 6 and 7); store CPU is redis-server (apps 2, 7), the xems sidecar (apps 4, 5), or both sidecars plus redis-server (app 6), all read from /proc over the measured window. ' +
        'RSS is read at the end of each run. Ratios compare req/s.',
    );
    out.push('');
    out.push(httpMedianTable(report));
    out.push('');
    const shared = sharedRedisTable(report);
    if (shared) {
      out.push('### Two instances sharing Redis (issue 8)');
      out.push('');
      out.push(
        `App 6 is the xems app started twice (two Node processes, two ports, each with its own sidecar), both with \`store: { type: 'redis', url, keyPrefix: 'bench:' }\`, ` +
          `one random 32-byte secret per bench run (passed in the environment), \`hardwareBinding: { id: 'bench' }\`, rotation on every request. ` +
          'App 7 is the connect-redis app started twice with the same cookie secret. Both use the same redis-server as app 2, in the same run. ' +
          'Each load-client user alternates the two instances request by request (its own cookie jar, one keep-alive connection to each), so every other request reaches the instance that did not issue its cookie. ' +
          'CPU per request is summed over both Node processes, both sidecars (app 6) and redis-server.',
      );
      out.push('');
      out.push(shared);
      out.push('');
      out.push(
        `App 6 \`/me\` (rotation every request) req/s vs app 7 \`/me-rotate\`: **${sharedRatio(report)}** (no bar is set for this comparison).`,
      );
      out.push('');
    }
    out.push('### Every run');
    out.push('');
    out.push(rawRunsTable(report));
    out.push('');
  }
  if (report.micro) {
    out.push('## Sidecar micro-benchmark (Node -> sidecar vs Node -> ioredis -> redis-server)');
    out.push('');
    out.push(
      `\`xems get\` is \`XemsService.from(sandbox).get(key)\`, \`xems resolve+rotate\` is \`resolveSession(token, { rotate: true })\` (each worker follows its own session), ` +
        `\`ioredis GET\` reads a value of the same size (${report.micro.valueBytes} bytes) from the same redis-server. Depths: ${MICRO_DEPTHS.join(', ')} calls in flight.`,
    );
    out.push('');
    out.push(microTables(report.micro));
    out.push('');
  }
  if (report.memory) {
    out.push(`## Memory: ${report.memory.entries.toLocaleString('en-US')} entries of ${report.memory.valueBytes} bytes`);
    out.push('');
    out.push(
      'Each in a fresh process: the sidecar holds sessions created with `createSession` (1 h TTL); redis-server holds the same values under `sess:<32 chars>` keys with `EX 3600`, loaded with pipelined SETs.',
    );
    out.push('');
    out.push(memoryTable(report.memory));
    out.push('');
    out.push(`redis-server used_memory (allocator's view): ${mib(report.memory.redis.usedMemoryBytes)} MiB.`);
    out.push('');
  }
  if (report.vault) {
    const v = report.vault;
    out.push(`## Vault load: ${v.entries.toLocaleString('en-US')} sessions of ${v.valueBytes} bytes`);
    out.push('');
    out.push(
      'The library as users run it: `XemsModule.forRoot({ persistence: { enabled: true, path, secret } })` with a fresh temporary directory, a random 32-byte secret made by the benchmark, ' +
        'the default hardware binding (/etc/machine-id) and fsync (`everysec`); `sidecar.startTimeout` is raised so that a slow load is measured rather than refused. ' +
        `The sessions of the memory comparison (same data, 1 h TTL) are created, the application context is closed, then started again on the same directory ${v.reloads.length} time(s). ` +
        'A reload is timed from `NestFactory.createApplicationContext` until the first `resolveSession` of a token kept at creation answers with its data: the Nest context, spawning the sidecar, ' +
        'its handshake, and the vault load (key derivation, reading, authenticating and decrypting every block, installing every record). ' +
        `After each reload \`stats()\` counts the sessions and ${v.sampled} kept tokens spread over the whole range are resolved without rotation and their data compared. ` +
        'The files were just written, so they are read from the page cache.',
    );
    out.push('');
    out.push(
      'The vault is what a user has after a clean shutdown: the sidecar compacts in the background while the journal grows (past 64 MiB and past the last snapshot) and never at shutdown, ' +
        'so a vault under 64 MiB is a journal over an empty snapshot and a larger one is the last snapshot plus the journal written since (the sizes are in the table). ' +
        'A snapshot-only vault, or a journal-only one above 64 MiB, cannot be made through the public options: ' +
        'the Go benchmark of the vault loader measures both ([docs/persistence-bench.md](../docs/persistence-bench.md)).',
    );
    out.push('');
    out.push(vaultTables(v, report.memory));
    out.push('');
  }
  out.push('## Method');
  out.push('');
  out.push(
    [
      '- Every process runs on 127.0.0.1 on this machine: redis-server (Debian package, `--save "" --appendonly no`), the apps (each instance its own Node process, same NestJS, same Express), the load client (its own Node process per run) and, for apps 4, 5 and 6, the xems sidecar each app process starts.',
      "- Apps: 1 bare NestJS; 2 express-session + connect-redis (node-redis client); 3 express-session MemoryStore; 4 nestjs-xems with its defaults (rotation on every request); 5 nestjs-xems `autoRotation: false`; 6 nestjs-xems with `store: { type: 'redis' }`, two instances; 7 app 2 started twice. Apps 2, 6 and 7 share the one redis-server.",
      '- express-session (apps 2, 3, 7) is configured as tutorials teach: `resave: false`, `saveUninitialized: false`, login calls `req.session.regenerate`; `/me-rotate` regenerates the session on every request and copies the data.',
      `- Load: ${CONNECTIONS} users, each on its own keep-alive connection (\`http.Agent\`, one socket per instance) with its own cookie jar; each logs in once (\`POST /login\`) and then requests the endpoint in a closed loop, sending the cookie it was last given (for apps 6 and 7, to the two instances in turn). A wrong status, a wrong body (another user's data) or a network error counts as an error; after a 401 the user logs in again. Every run checks that rotating endpoints answered every request with a new session cookie and that the others never changed it.`,
      '- CPU per request is the process CPU time (/proc/<pid>/stat) over the measured window divided by the answers; RSS is VmRSS at the end of the run. Medians are taken per metric over the runs.',
      '- The runs alternate: run 1 of every app and endpoint, then run 2 (starting one step later in the order), and so on, so slow drift of the machine hits every app alike.',
    ].join('\n'),
  );
  out.push('');
  if (report.problems.length) {
    out.push('## Correctness problems');
    out.push('');
    for (const p of report.problems) out.push(`- ${p.replace(/\n/g, ' ')}`);
    out.push('');
  }
  const f = findings();
  if (f) {
    out.push(f);
    out.push('');
  }
  return out.join('\n');
}

export function renderTable(report: BenchReport): string {
  const lines: string[] = [];
  const bare = find(report, 'bare:/me')?.median.rps ?? NaN;
  const r2rot = find(report, 'redis:/me-rotate')?.median.rps ?? NaN;
  if (report.summaries.length) {
    lines.push(
      `${'app and endpoint'.padEnd(58)} ${'req/s'.padStart(7)} ${'p50'.padStart(7)} ${'p97.5'.padStart(7)} ${'p99'.padStart(7)} ${'err'.padStart(5)} ${'cpu µs'.padStart(7)} ${'vs 1'.padStart(6)} ${'vs 2rot'.padStart(7)}`,
    );
    for (const s of report.summaries) {
      const m = s.median;
      lines.push(
        `${scenarioLabel(s.spec).replace(/`/g, '').padEnd(58)} ${f0(m.rps).padStart(7)} ${f2(m.p50).padStart(7)} ${f2(m.p975).padStart(7)} ${f2(m.p99).padStart(7)} ${String(m.errors).padStart(5)} ${f1(m.serverCpuUsPerReq + m.storeCpuUsPerReq).padStart(7)} ${ratio(m.rps, bare).padStart(6)} ${ratio(m.rps, r2rot).padStart(7)}`,
      );
    }
    lines.push('');
  }
  if (report.micro) {
    for (const c of report.micro.cases) {
      lines.push(
        `${`${c.op} @${c.depth}`.padEnd(28)} ${f0(c.median.opsPerSec).padStart(8)} ops/s  p50 ${f1(c.median.p50Us).padStart(7)} µs  p99 ${f1(c.median.p99Us).padStart(7)} µs  node ${f2(c.median.nodeCpuUsPerOp)} µs/op`,
      );
    }
    lines.push('');
  }
  if (report.memory) {
    lines.push(
      `memory (${report.memory.entries} x ${report.memory.valueBytes} B): sidecar ${mib(report.memory.sidecar.rssBytes)} MiB, redis-server ${mib(report.memory.redis.rssBytes)} MiB`,
    );
    lines.push('');
  }
  if (report.vault) {
    const v = report.vault;
    const verified = v.reloads.map((r) => `${r.verified}/${v.sampled}`).join(', ');
    lines.push(
      `vault load (${v.entries} sessions): median ${seconds(v.medianMs)} (${v.reloads.map((r) => seconds(r.ms)).join(', ')}; empty vault ${seconds(v.emptyStartMs)}), ` +
        `fill ${f1(v.fillMs / 1000)} s, vault ${mib(v.vault.totalBytes)} MiB, kept sessions verified ${verified}`,
    );
    lines.push('');
  }
  for (const b of bars(report)) lines.push(`${verdict(b).padEnd(12)} ${b.name.replace(/`/g, '')}: ${b.measured} (target ${b.target})`);
  if (find(report, 'xems-redis:/me') || find(report, 'redis-2:/me-rotate')) {
    lines.push(
      `${'(no bar)'.padEnd(12)} app 6 /me (xems on Redis, 2 instances) req/s vs app 7 /me-rotate (connect-redis, 2 instances): ${sharedRatio(report)}`,
    );
  }
  return lines.join('\n');
}
