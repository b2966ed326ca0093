import { readFileSync, readdirSync } from 'node:fs';
import { sleep } from './xems-test-app';

// The two stalls of the rotation fault tests: a stopped process (the sidecar under SIGSTOP) and
// a blocked event loop (a long synchronous task in the application).

/** Resolves once every thread of pid is stopped: SIGSTOP takes effect thread by thread (Linux). */
export async function waitStopped(pid: number): Promise<void> {
  const tasks = `/proc/${pid}/task`;
  for (let i = 0; i < 5000; i++) {
    const states = readdirSync(tasks).map((t) => {
      const stat = readFileSync(`${tasks}/${t}/stat`, 'utf8');
      return stat[stat.lastIndexOf(')') + 2];
    });
    if (states.every((s) => s === 'T' || s === 't')) return;
    await sleep(1);
  }
  throw new Error(`pid ${pid} did not stop`);
}

/**
 * Stops `pid` (SIGSTOP, every thread stopped), runs `during`, and continues it (SIGCONT) even
 * when `during` fails.
 */
export async function whileStopped<T>(pid: number, during: () => Promise<T>): Promise<T> {
  process.kill(pid, 'SIGSTOP');
  try {
    await waitStopped(pid);
    return await during();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** Blocks the event loop (a long synchronous task) for `ms`. */
export function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}
