/** The short summary the bench prints when it finishes. */
import { bars, sharedRatio, verdict } from './bars';
import { f0, f1, f2, mib, ratio, scenarioLabel, seconds } from './format';
import { redisCostLine, redisCosts } from './redis-cost';
import { find, type BenchReport } from './summary';

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
  if (find(report, 'xems-redis:/me sticky')) {
    lines.push(
      `${'(no bar)'.padEnd(12)} app 6s /me (xems on Redis, 2 instances, sticky users) req/s vs app 7 /me-rotate: ${sharedRatio(report, 'xems-redis:/me sticky')}`,
    );
  }
  const costs = redisCosts(report);
  if (costs.length) lines.push('');
  for (const c of costs) lines.push(`redis: ${scenarioLabel(c.summary.spec).replace(/`/g, '')}: ${redisCostLine(c)}`);
  return lines.join('\n');
}
