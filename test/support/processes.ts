import { readFileSync } from 'node:fs';
import { sleep } from './xems-test-app';

/** True while `pid` runs. A zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Polls until `pid` is gone; resolves with the time it took, or rejects after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (isAlive(pid)) {
    if (Date.now() - started > timeoutMs) throw new Error(`pid ${pid} still alive after ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}
