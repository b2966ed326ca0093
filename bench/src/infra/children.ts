/**
 * Every process the benchmark starts goes through here, so that all of them are stopped at the
 * end, on failure, on Ctrl-C and on an uncaught error.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Managed {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** The last lines the process wrote to stderr (and stdout, for servers), for error messages. */
  tail(): string;
  /** How the process is asked to stop: its stdin ending (our Node apps) or SIGTERM (redis-server). */
  stopBy: 'stdin' | 'SIGTERM';
}

const running = new Set<Managed>();
const TAIL_LINES = 40;

function keepTail(lines: string[], chunk: Buffer | string): void {
  for (const line of chunk.toString().split('\n')) {
    if (!line) continue;
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  }
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Wait until a stdout/stderr line matches this (servers); omit for jobs that just run. */
  ready?: RegExp;
  readyTimeoutMs?: number;
  stopBy?: 'stdin' | 'SIGTERM';
}

export async function start(name: string, cmd: string, args: string[], opts: StartOptions = {}): Promise<Managed> {
  const spawnOpts: SpawnOptions = { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] };
  const child = spawn(cmd, args, spawnOpts);
  const lines: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.on('error', (err) => {
      keepTail(lines, `spawn error: ${err.message}`);
      resolve('spawn-error');
    });
  });
  const managed: Managed = {
    name,
    pid: child.pid ?? -1,
    child,
    exited,
    tail: () => lines.join('\n'),
    stopBy: opts.stopBy ?? 'stdin',
  };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  child.stdin?.on('error', () => {}); // the child may exit first; its pipe closing is not our error

  if (!opts.ready) {
    child.stderr?.on('data', (c: Buffer) => keepTail(lines, c));
    return managed;
  }
  const ready = opts.ready;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not become ready within ${opts.readyTimeoutMs ?? 20000} ms:\n${managed.tail()}`)),
      opts.readyTimeoutMs ?? 20000,
    );
    const onData = (c: Buffer): void => {
      keepTail(lines, c);
      if (ready.test(c.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => keepTail(lines, c));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${managed.tail()}`));
    });
  });
  return managed;
}

/** Runs a job to its end and returns its stdout; fails with its stderr when it exits non-zero. */
export async function runJob(name: string, cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  const job = await start(name, cmd, args, { env });
  job.child.stdin?.end();
  const out: Buffer[] = [];
  job.child.stdout?.on('data', (c: Buffer) => out.push(c));
  const timer = setTimeout(() => job.child.kill('SIGKILL'), timeoutMs);
  const code = await job.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${job.tail()}`);
  return Buffer.concat(out).toString();
}

/** Asks a process to stop (stdin EOF, then SIGTERM), and SIGKILLs it after the grace time. */
export async function stop(m: Managed, graceMs = 5000): Promise<void> {
  if (!running.has(m)) return;
  m.child.stdin?.end();
  const termTimer = setTimeout(() => m.child.kill('SIGTERM'), m.stopBy === 'SIGTERM' ? 0 : Math.min(graceMs / 2, 2000));
  const killTimer = setTimeout(() => m.child.kill('SIGKILL'), graceMs);
  await m.exited;
  clearTimeout(termTimer);
  clearTimeout(killTimer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((m) => stop(m)));
}

/** Last resort when the harness itself exits: nothing it started may be left running. */
export function killAllNow(): void {
  for (const m of running) m.child.kill('SIGKILL');
}

process.on('exit', killAllNow);
