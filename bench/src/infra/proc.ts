/** Readers of /proc (Linux): CPU time and memory of any process, and the machine's CPU busy time. */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the "(comm)" field, which may itself contain spaces. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User + system CPU time the process has used, in microseconds (resolution: one clock tick). */
export function cpuMicros(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After the comm field: state(0) ppid(1) ... utime(11) stime(12).
  return ((Number(f[11]) + Number(f[12])) * 1e6) / clockTicks();
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 when the process is gone). */
export function rssBytes(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

/** Peak resident set size in bytes. */
export function peakRssBytes(pid: number): number {
  return statusKb(pid, 'VmHWM') * 1024;
}

/** Direct children of a process, optionally only those whose command name matches. */
export function childPids(parent: number, comm?: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const f = statFields(pid);
    if (!f || Number(f[1]) !== parent) continue;
    if (comm !== undefined) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue;
      } catch {
        continue;
      }
    }
    out.push(pid);
  }
  return out;
}

/** Machine-wide CPU time, busy and total, in microseconds summed over all cores. */
export function machineCpuMicros(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]; // "cpu  user nice system idle iowait irq softirq steal ..."
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  const k = 1e6 / clockTicks();
  return { busy: (total - idle) * k, total: total * k };
}
