/**
 * RESULTS.md section "Capacity model inputs" and "Cluster check": the measured inputs of
 * docs/scaling.md (bytes per session, redis-server CPU and commands per request and per login)
 * and the 3-master cluster run against the model's prediction.
 */
import type { CapacityReport } from '../capacity/cluster-run';
import { imbalanceOf, plan, sessionsPerGiB, spreadOf, type CapacityInputs } from '../capacity/model';
import { callsOf } from '../infra/redis-stats';
import type { RedisPhase } from '../capacity/redis-capacity';
import { f0, f1, f2 } from './format';
import { find, type BenchReport } from './summary';

const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const sum = (r: Record<string, number> | undefined): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);

/** Command name -> calls per operation, busiest first ("evalsha 1.00, hmget 1.00"). */
function perOp(commands: Record<string, number> | undefined, ops: number): string {
  if (!commands || !ops) return 'n/a';
  const rows = Object.entries(commands).sort((a, b) => b[1] - a[1]);
  return rows.map(([k, v]) => `${k} ${f2(v / ops)}`).join(', ') || 'none';
}

const phaseCpu = (p: RedisPhase | undefined): number => (p && p.ops ? p.redisCpuUs / p.ops : NaN);
const phaseBytes = (p: RedisPhase | undefined, entries: number): number => (p ? p.usedMemoryDeltaBytes / entries : NaN);

const clusterCpuPerRequest = (cap: CapacityReport): number =>
  cap.cluster ? cap.cluster.masters.reduce((a, m) => a + m.cpuUs, 0) / (cap.cluster.load.ok + cap.cluster.load.errors || 1) : NaN;

/**
 * Redis CPU per guarded request, from the best source this run has: HTTP app 6 on one
 * redis-server, else (unless `forCheck`: the cluster cannot predict itself) the cluster run,
 * else the library's resolve+rotate (which leaves out what the HTTP path adds).
 */
function requestCost(report: BenchReport, cap: CapacityReport, forCheck: boolean): [number, string] {
  const http = find(report, 'xems-redis:/me')?.median.redisCpuUsPerReq;
  if (http !== undefined && Number.isFinite(http)) return [http, 'HTTP app 6 on one redis-server'];
  const cluster = clusterCpuPerRequest(cap);
  if (!forCheck && Number.isFinite(cluster)) return [cluster, 'the cluster run, summed over the masters'];
  return [phaseCpu(cap.inputs.resolveRotate), 'resolve+rotate from the library on one redis-server'];
}

/** The inputs the model takes from this run, and where the request cost comes from. */
export function capacityInputs(report: BenchReport, cap: CapacityReport): CapacityInputs & { requestSource: string } {
  const [redisCpuUsPerRequest, requestSource] = requestCost(report, cap, false);
  return {
    redisBytesPerSession: phaseBytes(cap.inputs.withUser, cap.entries),
    redisCpuUsPerRequest,
    redisCpuUsPerLogin: phaseCpu(cap.inputs.withUser),
    requestSource,
  };
}

function inputsTable(report: BenchReport, cap: CapacityReport): string[] {
  const i = cap.inputs;
  const out: string[] = ['| input | value | sessions per GiB | how measured |', '| --- | --- | --- | --- |'];
  const mem = report.memory;
  if (mem) {
    const b = (mem.sidecar.rssBytes - mem.sidecar.baselineRssBytes) / mem.entries;
    out.push(
      `| sidecar (memory store) bytes per session | ${f0(b)} | ${int(sessionsPerGiB(b))} | RSS growth over ${int(mem.entries)} sessions of ${mem.valueBytes}-byte data (section "Memory") |`,
    );
  } else out.push('| sidecar (memory store) bytes per session | n/a | n/a | the memory section did not run |');
  for (const [label, p] of [
    ['Redis bytes per session, no user', i.withoutUser],
    ['Redis bytes per session, each with its own user (session + user index)', i.withUser],
  ] as const) {
    const b = phaseBytes(p, cap.entries);
    out.push(
      `| ${label} | ${f0(b)} | ${Number.isFinite(b) && b > 0 ? int(sessionsPerGiB(b)) : 'n/a'} | used_memory delta of ${int(cap.entries)} sessions of 256-byte data created through xems (Redis store) |`,
    );
  }
  const http = find(report, 'xems-redis:/me');
  const httpCmds = http?.runs.map((r) => r.result).filter((r) => r.redis);
  out.push(
    `| Redis CPU µs per guarded request (rotating /me), HTTP app 6 | ${f1(http?.median.redisCpuUsPerReq ?? NaN)} | | redis-server CPU over the window / requests (section "Two instances sharing Redis") |`,
  );
  const c = cap.cluster;
  if (c) {
    out.push(
      `| Redis CPU µs per guarded request, 3-master cluster (sum) | ${f1(clusterCpuPerRequest(cap))} | | CPU of the three redis-server processes over the window / requests |`,
    );
  }
  out.push(
    `| Redis CPU µs per resolve+rotate from the library (16 in flight) | ${f1(phaseCpu(i.resolveRotate))} | | ${int(i.resolveRotate?.ops ?? NaN)} calls |`,
  );
  if (c?.logins) {
    const l = c.logins;
    out.push(
      `| Redis CPU µs per login over HTTP (no user), 3-master cluster (sum) | ${f1(l.redisCpuUs.reduce((a, b) => a + b, 0) / l.logins)} | | ${int(l.logins)} \`POST /login\` to app 6 on the cluster, 16 in flight; commands: ${perOp(l.commands, l.logins)} |`,
    );
  }
  out.push(
    `| Redis CPU µs per login (session created, no user) | ${f1(phaseCpu(i.withoutUser))} | | ${int(cap.entries)} createSession calls |`,
  );
  out.push(
    `| Redis CPU µs per login (session created with a user) | ${f1(phaseCpu(i.withUser))} | | ${int(cap.entries)} createSession calls with userId |`,
  );
  if (httpCmds?.length) {
    const r = httpCmds[httpCmds.length - 1];
    out.push(
      `| Redis commands per guarded request, HTTP app 6 | ${f2(sum(callsOf(r.redis!)) / (r.ok + r.errors || 1))} | | ${perOp(callsOf(r.redis!), r.ok + r.errors)} (last run) |`,
    );
  }
  if (c) {
    const n = c.load.ok + c.load.errors || 1;
    const calls = c.load.redis && callsOf(c.load.redis);
    out.push(`| Redis commands per guarded request, cluster | ${f2(sum(calls) / n)} | | ${perOp(calls, n)} |`);
  }
  out.push(
    `| Redis commands per resolve+rotate (library) | ${f2(sum(i.resolveRotate?.commands) / (i.resolveRotate?.ops || 1))} | | ${perOp(i.resolveRotate?.commands, i.resolveRotate?.ops ?? 0)} |`,
  );
  out.push(
    `| Redis commands per login with a user | ${f2(sum(i.withUser?.commands) / cap.entries)} | | ${perOp(i.withUser?.commands, cap.entries)} |`,
  );
  return out;
}

function clusterSection(report: BenchReport, cap: CapacityReport): string[] {
  const c = cap.cluster;
  if (!c) return [];
  const n = c.load.ok + c.load.errors || 1;
  const [predicted, source] = requestCost(report, cap, true);
  const measured = clusterCpuPerRequest(cap);
  const filled = c.masters.map((m) => m.filledKeys);
  const out = [
    '### Cluster check: 3 masters',
    '',
    `Three redis-server masters (no replicas, no persistence, 127.0.0.1) joined with \`redis-cli --cluster create\`; ${int(c.filled)} sessions without a user created through xems (memory of the fill: keys per master below), then app 6 (two xems instances, rotation on every request) started on the cluster and loaded by the load client (${c.load.logins} logins, then \`/me\`) for ${f1(c.load.windowMs / 1000)} s: ${f0(c.load.rps)} req/s, p99 ${f2(c.load.latencyMs.p99)} ms, ${c.load.errors} errors. CPU read from /proc of each redis-server over the window.`,
    '',
    '| master | keys after the fill | keys at the end | used_memory MiB | CPU µs per request | share of the CPU |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const cpuSum = c.masters.reduce((a, m) => a + m.cpuUs, 0) || 1;
  for (const [k, m] of c.masters.entries()) {
    out.push(
      `| ${k + 1} (:${m.port}) | ${int(m.filledKeys)} | ${int(m.keys)} | ${f1(m.usedMemoryBytes / 2 ** 20)} | ${f1(m.cpuUs / n)} | ${f0((100 * m.cpuUs) / cpuSum)} % |`,
    );
  }
  out.push(`| sum | ${int(filled.reduce((a, b) => a + b, 0))} | ${int(c.masters.reduce((a, m) => a + m.keys, 0))} | | ${f1(measured)} | |`);
  out.push(
    '',
    `Keys spread (max/min after the fill): **${f2(spreadOf(filled))}x**, busiest master over the mean: ${f2(imbalanceOf(filled))}x (keys), ${f2(imbalanceOf(c.masters.map((m) => m.cpuUs)))}x (CPU; the load client's ${c.load.logins} live sessions land on the masters by their hash tags, so the CPU split follows those few sessions, not the fill). ` +
      `Redis CPU per request summed over the masters: **${f1(measured)} µs** against the model's ${f1(predicted)} µs (${source}): ${f2(measured / predicted)}x. Sidecars: ${f1(c.sidecarCpuUs / n)} µs per request.`,
  );
  return out;
}

/** The markdown section appended to RESULTS.md. */
export function renderCapacity(report: BenchReport, cap: CapacityReport): string {
  const inputs = capacityInputs(report, cap);
  const out = [
    '## Capacity model inputs',
    '',
    `The inputs of [docs/scaling.md](../docs/scaling.md), measured in this run (\`--only cluster\` runs this section alone). Redis sessions: a fresh redis-server, ${int(cap.entries)} sessions of 256-byte data created through xems (Redis store, 1 h TTL) without a user, then ${int(cap.entries)} more each with its own user, so each also carries a user index of one entry (the most index per session there is; users with several sessions share one index). Logins: those createSession calls (512 in flight without a user, 16 with one), which is what \`link\` does for a login; the cluster run adds logins over HTTP. used_memory is read 1 s after each batch.`,
    '',
    ...inputsTable(report, cap),
  ];
  if (Number.isFinite(inputs.redisBytesPerSession) && Number.isFinite(inputs.redisCpuUsPerRequest) && inputs.redisBytesPerSession > 0) {
    // The busiest master's allowance: the keys' spread measured on the cluster, at least 1.15.
    const filled = cap.cluster?.masters.map((m) => m.filledKeys) ?? [];
    const imbalance = Math.max(1.15, filled.length ? imbalanceOf(filled) : 0);
    const demand = {
      requestsPerSec: 100_000,
      loginsPerSec: 1000,
      liveSessions: 10_000_000,
      cpuTarget: 0.5,
      memoryGiBPerMaster: 8,
      imbalance,
    };
    const p = plan({ ...inputs, redisCpuUsPerLogin: Number.isFinite(inputs.redisCpuUsPerLogin) ? inputs.redisCpuUsPerLogin : 0 }, demand);
    out.push(
      '',
      `Worked example with these inputs (${inputs.requestSource} for the request cost): 100,000 guarded requests/s, 1,000 logins/s and 10 M live sessions with users need ${f2(p.cores)} cores of redis-server and ${f1(p.memoryGiB)} GiB: **${p.masters} masters** at a 50 % CPU target and 8 GiB each with a ${f2(imbalance)}x busiest-master allowance (busiest at ${f0(100 * p.busiestCpu)} % CPU and ${f1(p.busiestMemoryGiB)} GiB).`,
    );
  }
  out.push('', ...clusterSection(report, cap));
  return `${out.join('\n')}\n`;
}
