/**
 * "What each request costs Redis": for every app on Redis (2, 6, 6s, 7), redis-server's own
 * counters over each measured window (INFO commandstats and stats, read by the load client at its
 * start and end), per request, medians over the runs.
 */
import { median } from '../load/stats';
import { f1, f2, scenarioLabel, table } from './format';
import { appOf, type BenchReport, type ScenarioSummary } from './summary';

export interface CommandCost {
  command: string;
  callsPerReq: number;
  usecPerReq: number;
}

export interface RedisCost {
  summary: ScenarioSummary;
  /** Largest usec per request first. */
  commands: CommandCost[];
  /** Read events on client connections per request: the round trips of a client that does not pipeline. */
  readsPerReq: number;
  /** Every command Redis ran per request (those run by a script included). */
  commandsPerReq: number;
  /** redis-server CPU per request from /proc, for comparison. */
  cpuUsPerReq: number;
}

/** Script commands: Redis counts the commands a script runs in their own rows too, and their time in the script's. */
const SCRIPT = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/;

export function redisCost(s: ScenarioSummary): RedisCost | undefined {
  const runs = s.runs.filter((r) => r.result.redis);
  if (!runs.length) return undefined;
  const per = (r: (typeof runs)[number]): number => r.result.ok + r.result.errors || 1;
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.result.redis!.commands)))];
  const commands = names
    .map((command) => ({
      command,
      callsPerReq: median(runs.map((r) => (r.result.redis!.commands[command]?.calls ?? 0) / per(r))),
      usecPerReq: median(runs.map((r) => (r.result.redis!.commands[command]?.usec ?? 0) / per(r))),
    }))
    .sort((a, b) => b.usecPerReq - a.usecPerReq);
  return {
    summary: s,
    commands,
    readsPerReq: median(runs.map((r) => r.result.redis!.reads / per(r))),
    commandsPerReq: median(runs.map((r) => r.result.redis!.commandsProcessed / per(r))),
    cpuUsPerReq: s.median.redisCpuUsPerReq,
  };
}

export function redisCosts(report: BenchReport): RedisCost[] {
  return report.summaries
    .filter((s) => appOf(s.spec.key).usesRedis)
    .map(redisCost)
    .filter((c): c is RedisCost => c !== undefined);
}

export function redisCostTable(report: BenchReport): string | undefined {
  const costs = redisCosts(report);
  if (!costs.length) return undefined;
  const rows: string[][] = [];
  for (const c of costs) {
    const label = scenarioLabel(c.summary.spec);
    for (const x of c.commands) {
      rows.push([
        label,
        `\`${x.command.toUpperCase()}\`${SCRIPT.test(x.command) ? ' (script)' : ''}`,
        f2(x.callsPerReq),
        f1(x.usecPerReq),
        x.callsPerReq > 0 ? f1(x.usecPerReq / x.callsPerReq) : 'n/a',
      ]);
    }
    // With scripts a plain row may be (partly) what a script ran, whose time the script's row
    // already holds: the sum of the rows is then an upper bound, and labelled so.
    const withScripts = c.commands.some((x) => SCRIPT.test(x.command));
    const total = {
      usec: c.commands.reduce((a, x) => a + x.usecPerReq, 0),
      note: withScripts ? 'total (at most: a command a script runs is counted in its row and in the script)' : 'total',
    };
    rows.push([label, `**${total.note}**`, f2(c.commandsPerReq), f1(total.usec), '']);
    rows.push([label, '**client socket reads (round trips)**', f2(c.readsPerReq), '', '']);
    rows.push([label, '**redis-server CPU from /proc**', '', f1(c.cpuUsPerReq), '']);
  }
  return table(['app and endpoint', 'command', 'calls per request', 'usec per request', 'usec per call'], rows);
}

/**
 * One line per app for the console and the README: socket reads (round trips of a client that
 * does not pipeline), commands (the most costly four, by time) and CPU per request.
 */
export function redisCostLine(c: RedisCost): string {
  const top = c.commands
    .filter((x) => x.callsPerReq >= 0.005)
    .slice(0, 4)
    .map((x) => `${x.command.toUpperCase()} ${f2(x.callsPerReq)}`)
    .join(', ');
  return `${f2(c.readsPerReq)} client socket reads, ${f2(c.commandsPerReq)} commands (${top}), ${f1(c.cpuUsPerReq)} µs redis-server CPU per request`;
}
