/**
 * The lines of the README's "Benchmarks" section, made from a run (the lead pastes them): the
 * headline table, the bars of issue 18 and what a request costs Redis.
 */
import { bars, verdict } from './bars';
import { f0, f1, ratio, scenarioLabel, table } from './format';
import { redisCostLine, redisCosts } from './redis-cost';
import { appOf, find, type BenchReport } from './summary';

/** The rows of the headline table, in this order (those the run measured). */
const HEADLINE = [
  'bare:/me',
  'redis:/me',
  'redis:/me-rotate',
  'memory:/me-rotate',
  'xems:/me',
  'xems-norotate:/me',
  'xems-redis:/me',
  'xems-redis:/me sticky',
  'redis-2:/me-rotate',
] as const;

export function readmeLines(report: BenchReport): string {
  const t = report.timing;
  const bare = find(report, 'bare:/me')?.median.rps ?? NaN;
  const r2rot = find(report, 'redis:/me-rotate')?.median.rps ?? NaN;
  const out: string[] = [];
  out.push(
    `Latest run, written to \`bench/RESULTS.md\` by \`${report.command}\` (${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
      `${report.machine.cores} vCPUs, Node ${report.versions.node}, redis-server ${report.versions['redis-server']}, medians of ${t.runs} run(s) of ${t.durationMs / 1000} s, apps alternating):`,
  );
  out.push('');
  const rows = HEADLINE.map((k) => find(report, k))
    .filter((s) => s !== undefined)
    .map((s) => {
      const m = s.median;
      const hasStore = appOf(s.spec.key).usesRedis || appOf(s.spec.key).usesSidecar;
      return [
        scenarioLabel(s.spec).replace(/^\d+s? /, ''),
        f0(m.rps),
        f1(m.p99),
        hasStore ? `${f0(m.serverCpuUsPerReq)} + ${f0(m.storeCpuUsPerReq)}` : f0(m.serverCpuUsPerReq),
        ratio(m.rps, bare),
        ratio(m.rps, r2rot),
      ];
    });
  if (rows.length) {
    out.push(table(['app, endpoint', 'req/s', 'p99 ms', 'Node CPU µs/req + store', 'vs bare', 'vs connect-redis `/me-rotate`'], rows));
    out.push('');
  }
  out.push(
    table(
      ['bar (issue 18)', 'measured', 'target', ''],
      bars(report).map((b) => [b.name, b.measured, b.target, verdict(b)]),
    ),
  );
  const costs = redisCosts(report);
  if (costs.length) {
    out.push('');
    out.push('What a request costs Redis (`INFO commandstats` over the measured window):');
    out.push('');
    for (const c of costs) out.push(`- ${scenarioLabel(c.summary.spec)}: ${redisCostLine(c)}`);
  }
  return out.join('\n');
}
