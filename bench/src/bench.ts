/**
 * `npm run bench [-- --quick]`: nestjs-xems against express-session (connect-redis and
 * MemoryStore) and bare NestJS, side by side on this machine in one run. Writes RESULTS.md
 * (RESULTS.quick.md for --quick) and prints a short table. Exits non-zero when an app did not
 * answer correctly; speed never fails the run.
 */
import { f0, f2 } from './report/format';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  APPS,
  CONNECTIONS,
  FULL,
  QUICK,
  SCENARIOS,
  XEMS_REDIS_SECRET_ENV,
  type AppId,
  type AppSpec,
  type ScenarioSpec,
  type Timing,
} from './config';
import { runJob, start, stop, stopAll, killAllNow, type Managed } from './infra/children';
import { machineInfo, packageVersion, commandVersion, sidecarHello } from './infra/machine';
import { libraryPath } from './infra/library';
import { childPids, rssBytes } from './infra/proc';
import { freePort } from './infra/ports';
import { ensureRedisServer, redisVersion, startRedis, type RedisInstance } from './infra/redis';
import { capacityWanted, runCapacitySection, type CapacityReport } from './capacity/cluster-run';
import { renderCapacity } from './report/capacity';
import type { LoadJob, LoadResult } from './load/load-client';
import type { MemoryResult } from './micro/memory';
import type { MicroResult } from './micro/sidecar-micro';
import type { VaultLoadResult } from './micro/vault-load';
import { formatProfile, summarizeProfile } from './report/cpu-profile';
import { renderTable } from './report/console-table';
import { refreshFindings } from './report/findings';
import { renderMarkdown } from './report/markdown';
import { summarize, type BenchReport, type RunRecord } from './report/summary';

const BENCH_ROOT = resolve(__dirname, '..');
const REPO_ROOT = resolve(BENCH_ROOT, '..');
const BUILD = join(BENCH_ROOT, 'build');

const log = (msg: string): void => console.log(`[bench] ${msg}`);

const USAGE = `npm run bench [-- options]      (in bench/; builds the library and the sidecar first)
  --quick              1 run of 3 s per app and endpoint, short micro and memory checks (CI smoke run)
  --only a,b           only these apps (bare, redis, memory, xems, xems-norotate, xems-redis, redis-2)
                       or scenarios (xems:/me; 6s = 'xems-redis:/me sticky')
  --skip-http | --skip-micro | --skip-memory | --skip-vault | --skip-cluster
  --only cluster       the capacity section alone: Redis inputs and the 3-master cluster run
  --capacity-entries N sessions created through xems for the capacity inputs and the cluster
                       fill (default 100000, 5000 with --quick)
  --runs N --duration S --warmup S   override the run count and durations
  --memory-entries N   sessions held in the memory comparison and loaded from the vault
                       (default 1000000, 20000 with --quick)
  --vault-reloads N    restarts on the filled vault, median reported (default 3, 1 with --quick)
  --profile a,b        write V8 CPU profiles of these processes (app ids, client, micro) under
                       bench/profiles/ and print where the time went (slower: not for numbers)
  --out FILE           where to write the report (default RESULTS.md, RESULTS.quick.md with --quick)
  --refresh-findings   only copy the hand-written FINDINGS.md into the existing report (no run)
Environment: XEMS_BENCH_LIB (library build to test, default ../dist), XEMS_SIDECAR_PATH.`;

/** An app and its instances (one Node process each; two for apps 6 and 7). */
interface RunningApp {
  spec: AppSpec;
  ports: number[];
  procs: Managed[];
}

function sidecarBinary(): string {
  return process.env.XEMS_SIDECAR_PATH ?? join(REPO_ROOT, 'sidecar', 'bin', `${process.platform}-${process.arch}`, 'xems-sidecar');
}

function checkPrerequisites(): void {
  const missing: string[] = [];
  if (!existsSync(join(libraryPath(), 'index.js')))
    missing.push(`the library at ${libraryPath()} (run \`npm run build\` at the repo root)`);
  if (!existsSync(sidecarBinary())) missing.push(`the sidecar binary ${sidecarBinary()} (run \`npm run build:sidecar\` at the repo root)`);
  if (missing.length) throw new Error(`missing ${missing.join(' and ')}`);
}

/** `--profile a,b`: V8 CPU profiles of these processes (app ids, `client`, `micro`) are written here. */
let profileDir: string | undefined;
let profiled: string[] = [];
let profileCount = 0;

function nodeArgs(who: string): string[] {
  if (!profileDir || !profiled.includes(who)) return [];
  return ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${who}-${++profileCount}.cpuprofile`];
}

/**
 * App 6's shared secret: random for each bench run, the same for both of its instances, handed to
 * them in their environment (never in argv) and removed from it by the app once read.
 */
const xemsRedisSecret = `base64:${randomBytes(32).toString('base64')}`;

async function startApp(spec: AppSpec, redis: RedisInstance): Promise<RunningApp> {
  const ports: number[] = [];
  const procs: Managed[] = [];
  for (let n = 1; n <= spec.instances; n++) {
    const port = await freePort();
    const args = [...nodeArgs(spec.id), join(BUILD, 'apps', 'main.js'), '--app', spec.id, '--port', String(port)];
    if (spec.usesRedis) args.push('--redis-port', String(redis.port));
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', XEMS_BENCH_LIB: libraryPath() };
    if (spec.id === 'xems-redis') env[XEMS_REDIS_SECRET_ENV] = xemsRedisSecret;
    const name = spec.instances > 1 ? `app ${spec.no} (${spec.id}) instance ${n}` : `app ${spec.no} (${spec.id})`;
    procs.push(await start(name, process.execPath, args, { env, ready: /^READY$/m, readyTimeoutMs: 30000 }));
    ports.push(port);
  }
  return { spec, ports, procs };
}

/**
 * The store processes whose CPU and memory belong to an app's cost: redis-server, each instance's
 * sidecar, or both (app 6: its sidecars keep their records in redis-server).
 */
function storePids(app: RunningApp, redis: RedisInstance): number[] {
  const pids: number[] = [];
  if (app.spec.usesSidecar) {
    for (const p of app.procs) {
      const sidecar = childPids(p.pid, 'xems-sidecar')[0];
      if (sidecar !== undefined) pids.push(sidecar);
    }
  }
  if (app.spec.usesRedis) pids.push(redis.proc.pid);
  return pids;
}

const sumRss = (pids: number[]): number => pids.reduce((sum, pid) => sum + rssBytes(pid), 0);

/** What makes an answer correct, checked on every run (and the only thing --quick asserts). */
function correctnessProblems(s: ScenarioSpec, r: LoadResult): string[] {
  const problems: string[] = [];
  if (r.ok === 0) problems.push('no correct answer');
  if (r.errors > 0)
    problems.push(
      `${r.errors} errors (${Object.entries(r.errorKinds)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')})`,
    );
  if (s.rotates && r.rotations !== r.ok) problems.push(`expected a new session cookie on every answer, got ${r.rotations} of ${r.ok}`);
  if (!s.rotates && r.rotations !== 0) problems.push(`expected the session cookie to stay, it changed ${r.rotations} times`);
  return problems;
}

async function runScenario(s: ScenarioSpec, app: RunningApp, redis: RedisInstance, timing: Timing, run: number): Promise<RunRecord> {
  const stores = storePids(app, redis);
  const servers = app.procs.map((p) => p.pid);
  const job: LoadJob = {
    ports: app.ports,
    path: s.path,
    cookie: app.spec.cookie,
    expect: app.spec.cookie ? '"userId":"u{i}"' : '"userId":"anonymous"',
    connections: CONNECTIONS,
    warmupMs: timing.warmupMs,
    durationMs: timing.durationMs,
    serverPids: servers,
    storePids: stores,
    ...issue18Load(s, app, redis),
  };
  const out = await runJob(
    `load client (${s.key})`,
    process.execPath,
    [...nodeArgs('client'), join(BUILD, 'load', 'load-client.js'), JSON.stringify(job)],
    timing.warmupMs + timing.durationMs + 60_000,
  );
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
  const record: RunRecord = {
    run,
    scenario: s.key,
    result,
    serverRssBytes: sumRss(servers),
    storeRssBytes: sumRss(stores),
    problems: correctnessProblems(s, result),
  };
  const sidecars = stores.length - (app.spec.usesRedis ? 1 : 0);
  if (app.spec.usesSidecar && sidecars !== app.procs.length)
    record.problems.push(`expected ${app.procs.length} xems-sidecar process(es), found ${sidecars}`);
  for (const p of app.procs) {
    if (p.child.exitCode !== null) record.problems.push(`${p.name} exited (${p.child.exitCode}):\n${p.tail()}`);
  }
  return record;
}

/** Issue 18: redis-server's counters over the window (apps on Redis) and sticky users (app 6s). */
function issue18Load(s: ScenarioSpec, app: RunningApp, redis: RedisInstance): Pick<LoadJob, 'redisPorts' | 'sticky'> {
  return { redisPorts: app.spec.usesRedis ? [redis.port] : undefined, sticky: s.sticky === true };
}

/** Scenario order for run `run`: rotated by one each run so that no app always goes first. */
function orderFor(run: number, scenarios: ScenarioSpec[]): ScenarioSpec[] {
  const k = run % scenarios.length;
  return [...scenarios.slice(k), ...scenarios.slice(0, k)];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'skip-http': { type: 'boolean', default: false },
      'skip-micro': { type: 'boolean', default: false },
      'skip-memory': { type: 'boolean', default: false },
      'skip-vault': { type: 'boolean', default: false },
      'skip-cluster': { type: 'boolean', default: false },
      'capacity-entries': { type: 'string' },
      'memory-entries': { type: 'string' },
      'vault-reloads': { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      help: { type: 'boolean', default: false },
      'refresh-findings': { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values['refresh-findings']) {
    const file = values.out ? resolve(values.out) : join(BENCH_ROOT, 'RESULTS.md');
    writeFileSync(file, refreshFindings(readFileSync(file, 'utf8')));
    log(`copied FINDINGS.md into ${file} (no benchmark run)`);
    return 0;
  }
  if (values.profile) {
    profiled = values.profile.split(',').map((x) => x.trim());
    profileDir = join(BENCH_ROOT, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(profileDir, { recursive: true });
  }
  const quick = values.quick === true;
  const timing: Timing = { ...(quick ? QUICK : FULL) };
  if (values.runs) timing.runs = Number(values.runs);
  if (values.duration) timing.durationMs = Number(values.duration) * 1000;
  if (values.warmup) timing.warmupMs = Number(values.warmup) * 1000;
  if (values['memory-entries']) timing.memoryEntries = positiveInteger('--memory-entries', values['memory-entries']);
  if (values['vault-reloads']) timing.vaultReloads = positiveInteger('--vault-reloads', values['vault-reloads']);
  const only = values.only?.split(',').map((x) => x.trim());
  const scenarios = SCENARIOS.filter(
    (s) => !only || only.includes(s.app) || only.includes(s.key) || (s.sticky === true && only.includes('6s')),
  );
  const startedAt = new Date();
  const machineBefore = machineInfo();

  const needsXems =
    scenarios.some((s) => APPS.find((a) => a.id === s.app)?.usesSidecar) ||
    !values['skip-micro'] ||
    !values['skip-memory'] ||
    !values['skip-vault'] ||
    capacityWanted(values['skip-cluster'], only);
  if (needsXems) checkPrerequisites();
  const redisBin = ensureRedisServer(log);
  const hello = needsXems ? await sidecarHello(sidecarBinary()) : { protocol: 0, build: 'not used' };
  const report: BenchReport = {
    quick,
    timing,
    startedAt: startedAt.toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: machineBefore,
    versions: versions(redisBin, hello),
    runs: [],
    summaries: [],
    problems: [],
  };

  const redis = await startRedis(redisBin);
  log(`redis-server ${report.versions['redis-server']} on 127.0.0.1:${redis.port} (no persistence)`);

  if (!values['skip-http'] && scenarios.length) {
    const needed = APPS.filter((a) => scenarios.some((s) => s.app === a.id));
    const apps = new Map<AppId, RunningApp>();
    for (const spec of needed) {
      const app = await startApp(spec, redis);
      apps.set(spec.id, app);
      log(`app ${spec.no} ${spec.title}: ${app.procs.map((p, i) => `127.0.0.1:${app.ports[i]} pid ${p.pid}`).join(', ')}`);
    }
    for (let run = 1; run <= timing.runs; run++) {
      for (const s of orderFor(run - 1, scenarios)) {
        const app = apps.get(s.app)!;
        const rec = await runScenario(s, app, redis, timing, run);
        report.runs.push(rec);
        const r = rec.result;
        log(
          `run ${run}/${timing.runs} ${s.key.padEnd(22)} ${f0(r.rps ?? NaN).padStart(6)} req/s  p50 ${f2(r.latencyMs.p50 ?? NaN)} ms  p99 ${f2(r.latencyMs.p99 ?? NaN)} ms  errors ${r.errors}` +
            (rec.problems.length ? `  PROBLEM: ${rec.problems.join('; ')}` : ''),
        );
      }
    }
    report.summaries = summarize(scenarios, report.runs);
    // The apps are done: stop them (this also writes their CPU profiles) before the micro-benchmark.
    await Promise.all([...apps.values()].flatMap((a) => a.procs.map((p) => stop(p))));
  }

  if (!values['skip-micro']) {
    log('sidecar micro-benchmark against ioredis GET');
    const out = await runJob(
      'micro-benchmark',
      process.execPath,
      [...nodeArgs('micro'), join(BUILD, 'micro', 'sidecar-micro.js'), JSON.stringify({ redisPort: redis.port, timing })],
      30 * 60_000,
      { ...process.env, XEMS_BENCH_LIB: libraryPath() },
    );
    report.micro = JSON.parse(out.trim().split('\n').pop() ?? '{}') as MicroResult;
    report.problems.push(...report.micro.problems);
  }
  await redis.stop();

  if (!values['skip-memory']) {
    log(`memory: ${timing.memoryEntries} sessions in the sidecar vs ${timing.memoryEntries} values in a fresh redis-server`);
    const memRedis = await startRedis(redisBin, 'redis-server (memory)');
    try {
      const out = await runJob(
        'memory benchmark',
        process.execPath,
        [
          join(BUILD, 'micro', 'memory.js'),
          JSON.stringify({ redisPort: memRedis.port, redisPid: memRedis.proc.pid, entries: timing.memoryEntries }),
        ],
        30 * 60_000,
        { ...process.env, XEMS_BENCH_LIB: libraryPath() },
      );
      report.memory = JSON.parse(out.trim().split('\n').pop() ?? '{}') as MemoryResult;
      report.problems.push(...report.memory.problems);
    } finally {
      await memRedis.stop();
    }
  }

  if (!values['skip-vault']) {
    log(`vault load: ${timing.memoryEntries} sessions written to an encrypted vault, then ${timing.vaultReloads} restart(s) on it`);
    const out = await runJob(
      'vault load benchmark',
      process.execPath,
      [join(BUILD, 'micro', 'vault-load.js'), JSON.stringify({ entries: timing.memoryEntries, reloads: timing.vaultReloads })],
      30 * 60_000,
      { ...process.env, XEMS_BENCH_LIB: libraryPath() },
    );
    report.vault = JSON.parse(out.trim().split('\n').pop() ?? '{}') as VaultLoadResult;
    report.problems.push(...report.vault.problems);
  }

  let capacity: CapacityReport | undefined;
  if (capacityWanted(values['skip-cluster'], only)) {
    const entries = values['capacity-entries'] ? positiveInteger('--capacity-entries', values['capacity-entries']) : quick ? 5000 : 100_000;
    const libEnv = { ...process.env, XEMS_BENCH_LIB: libraryPath() };
    capacity = await runCapacitySection({ build: BUILD, redisBin, timing, entries, libEnv, log }, true);
    report.problems.push(...capacity.problems);
  }

  for (const rec of report.runs) for (const p of rec.problems) report.problems.push(`run ${rec.run} ${rec.scenario}: ${p}`);
  report.finishedAt = new Date().toISOString();
  report.machineAfter = machineInfo();

  if (profileDir) {
    report.profiled = profiled;
    for (const f of readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile'))) {
      console.log(`\n== CPU profile ${join(profileDir, f)}\n${formatProfile(summarizeProfile(join(profileDir, f), libraryPath(), 30))}`);
    }
  }

  const file = values.out
    ? resolve(values.out)
    : join(BENCH_ROOT, quick ? 'RESULTS.quick.md' : values.profile ? 'RESULTS.profile.md' : 'RESULTS.md');
  writeFileSync(file, renderMarkdown(report) + (capacity ? `\n${renderCapacity(report, capacity)}` : ''));
  console.log(`\n${renderTable(report)}\n`);
  log(`wrote ${file} (its section "For the README" holds the lines to paste into the README)`);
  if (report.problems.length) {
    console.error(`[bench] FAILED: ${report.problems.length} correctness problem(s):\n  ${report.problems.join('\n  ')}`);
    return 1;
  }
  log('every app answered correctly');
  return 0;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}

function versions(redisBin: string, hello: { protocol: number; build: string }): Record<string, string> {
  const dirs = [BENCH_ROOT, REPO_ROOT];
  const v: Record<string, string> = {
    node: process.version,
    'nestjs-xems': rootVersion(),
    'xems-sidecar': `${hello.build} (protocol ${hello.protocol})`,
    go: commandVersion('go', ['version']).replace(/^go version /, ''),
    'redis-server': redisVersion(redisBin),
  };
  for (const name of ['@nestjs/core', '@nestjs/platform-express', 'express', 'express-session', 'connect-redis', 'redis', 'ioredis']) {
    v[name] = packageVersion(name, dirs);
  }
  return v;
}

function rootVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

let exiting = false;
async function shutdownAndExit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    await stopAll().catch(() => killAllNow());
  }
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.error(`[bench] ${sig}: stopping every process the bench started`);
    void shutdownAndExit(sig === 'SIGINT' ? 130 : 143);
  });
}

main().then(
  (code) => shutdownAndExit(code),
  (err: unknown) => {
    console.error(`[bench] FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return shutdownAndExit(1);
  },
);
