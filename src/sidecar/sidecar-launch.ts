import { ChildProcess, spawn } from 'node:child_process';
import { XemsSidecarError, XemsTimeoutError, XemsUnavailableError, MISMATCHED_SIDECAR_HINT } from '../xems.errors';
import { locateSidecarBinary } from './binary-locator';
import { SidecarClient, SidecarHello } from './sidecar-client';
import { configureSidecar } from './sidecar-configure';
import { forwardSidecarLogs } from './sidecar-logs';
import type { SidecarLogger, SidecarProcessOptions } from './sidecar-options';
import { checkSidecarVersion, packageVersion } from './sidecar-version';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child that completed the handshake. */
export interface RunningSidecar {
  child: ChildProcess;
  client: SidecarClient;
  exited: Promise<ChildExit>;
  startedAt: number;
  hello: SidecarHello;
}

/** What a launch needs from the supervisor (sidecar-process.ts). */
export interface LaunchContext {
  options: SidecarProcessOptions;
  logger: SidecarLogger;
  sidecarLogger: SidecarLogger;
  onBusyChange(child: ChildProcess, busy: boolean): void;
  onLatency(ms: number): void;
  /** True once shutdown began: a broken stream then no longer kills the child (stop() does). */
  stopping(): boolean;
  /** HELLO came from a development build, or this package's version is unknown: warn (once). */
  onUncheckedVersion(message: string): void;
  /** Called with the child once the handshake is complete, before the launch resolves. */
  onReady(running: RunningSidecar): void;
}

/**
 * Environment variables the Go runtime may use; nothing else (no secrets) reaches the child.
 * SSL_CERT_FILE / SSL_CERT_DIR name the CA certificates Go trusts (public files, no secret):
 * without them a `rediss://` Redis with a private CA could never be reached.
 */
const CHILD_ENV_ALLOWLIST = ['GOMAXPROCS', 'GOGC', 'GOMEMLIMIT', 'GODEBUG', 'TZ', 'SYSTEMROOT', 'SystemRoot', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of CHILD_ENV_ALLOWLIST) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

/** A stall is logged at most this often (a loaded sidecar may time out calls now and then). */
const STALL_LOG_INTERVAL_MS = 30_000;

/** One warning when calls start timing out unanswered, one line when the sidecar answers again. */
function stallLogger(logger: SidecarLogger, pid: number | undefined): (stalled: boolean, ms: number) => void {
  let lastWarning = -Infinity;
  let warned = false;
  return (stalled, ms) => {
    if (stalled) {
      const now = performance.now();
      if (now - lastWarning < STALL_LOG_INTERVAL_MS) return;
      lastWarning = now;
      warned = true;
      logger.warn(`Sidecar (pid ${pid}) did not answer within ${ms} ms (sidecar.requestTimeout): calls fail with XemsTimeoutError (503) until it answers again`);
    } else if (warned) {
      warned = false;
      logger.log(`Sidecar (pid ${pid}) answers again after ${Math.round(ms)} ms`);
    }
  };
}

interface Refable {
  ref?(): unknown;
  unref?(): unknown;
}

/** Refs or unrefs the child and its pipes: an idle sidecar must not keep Node alive. */
export function setRefs(child: ChildProcess, ref: boolean): void {
  const handles: Array<Refable | null> = [child, child.stdin as Refable | null, child.stdout as Refable | null, child.stderr as Refable | null];
  for (const h of handles) {
    if (ref) h?.ref?.();
    else h?.unref?.();
  }
}

export function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

function exitText({ code, signal }: ChildExit): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

/**
 * Spawns a sidecar and completes the handshake within startTimeout: HELLO (the protocol
 * version, checked by the client, and the build version, checked here against this package's
 * version), then CONFIGURE. A child that fails any step is killed and the failure is a typed
 * error saying why (its last log lines when it exited).
 */
export async function launchSidecar(ctx: LaunchContext): Promise<RunningSidecar> {
  const { options } = ctx;
  const path = locateSidecarBinary(options.binaryPath);
  const deadline = Date.now() + options.startTimeoutMs;
  const stderrTail: string[] = [];
  const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(), windowsHide: true });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new XemsSidecarError('SIDECAR_SPAWN_FAILED', `Could not start the xems sidecar (${path}): ${err.message}`, 'Check that the binary is built for this platform and executable; without a platform package, build one with "npx nestjs-xems build-sidecar".', { cause: err })),
    );
  });
  spawnError.catch(() => undefined);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => {
      // A child that never started emits 'error' without 'exit'.
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  forwardSidecarLogs(child, ctx.sidecarLogger, stderrTail);
  const client = new SidecarClient(child.stdin!, child.stdout!, {
    requestTimeoutMs: options.requestTimeoutMs,
    maxInFlight: options.maxInFlight,
    onBusyChange: (busy) => ctx.onBusyChange(child, busy),
    onExpired: options.onExpired,
    onEnded: options.onEnded,
    onLatency: (ms) => ctx.onLatency(ms),
    onStall: stallLogger(ctx.logger, child.pid),
  });
  void exited.then((info) => client.close(new XemsUnavailableError(`it exited (${exitText(info)})`)));
  // A corrupt stream makes the child useless: kill it, the exit handler decides what follows.
  void client.closed.then(() => {
    if (ctx.stopping()) return;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
  });

  const startTimer = delay(options.startTimeoutMs);
  const timedOut = startTimer.promise.then(() => {
    throw new XemsSidecarError(
      'SIDECAR_START_TIMEOUT',
      `The xems sidecar (${path}) did not complete its handshake within ${options.startTimeoutMs} ms`,
      'Raise sidecar.startTimeout on a slow host, or check the XemsSidecar log lines.',
    );
  });
  const stdioClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exitError = async (info: ChildExit) => {
    // Let the last stderr lines arrive: they usually say why.
    const linger = delay(200);
    await Promise.race([stdioClosed, linger.promise]);
    linger.cancel();
    const tail = stderrTail.length ? `; last log lines: ${stderrTail.join(' | ')}` : '';
    return new XemsSidecarError(
      'SIDECAR_EXITED',
      `The xems sidecar (${path}) exited during start-up (${exitText(info)})${tail}`,
      MISMATCHED_SIDECAR_HINT,
    );
  };
  const exitedEarly = exited.then(async (info) => {
    throw await exitError(info);
  });
  const failures = [spawnError, timedOut, exitedEarly];
  try {
    const hello = await Promise.race([client.hello, ...failures]);
    const version = packageVersion();
    const verdict = checkSidecarVersion(hello.buildVersion, version, path);
    if (verdict === 'dev') {
      ctx.onUncheckedVersion(`The xems sidecar ${path} is a development build (${hello.buildVersion}): its version is not checked against nestjs-xems ${version ?? ''}. Use a stamped build ("npx nestjs-xems build-sidecar") outside development.`);
    } else if (verdict === 'unknown') {
      ctx.onUncheckedVersion(`The version of nestjs-xems could not be read from its package.json: the sidecar's version (${hello.buildVersion}) is not checked.`);
    }
    await Promise.race([configureSidecar(client, options, version ?? '', Math.max(1, deadline - Date.now()), ctx.logger), ...failures]);
    const running: RunningSidecar = { child, client, exited, startedAt: Date.now(), hello };
    ctx.onReady(running);
    return running;
  } catch (err) {
    client.close(err instanceof Error ? err : new Error(String(err)));
    const alive = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    if (alive && !(err instanceof XemsUnavailableError)) child.kill('SIGKILL');
    // A closed pipe usually means the child is exiting: report its exit rather than the pipe.
    const wait = delay(1000);
    const info = await Promise.race([exited, wait.promise.then(() => undefined)]);
    wait.cancel();
    if (info === undefined) {
      child.kill('SIGKILL');
      const grace = delay(1000);
      await Promise.race([exited, grace.promise]);
      grace.cancel();
    } else if (err instanceof XemsUnavailableError) {
      throw await exitError(info);
    }
    if (err instanceof XemsTimeoutError) {
      throw new XemsSidecarError('SIDECAR_START_TIMEOUT', `The xems sidecar did not answer CONFIGURE within the start timeout`, 'Raise sidecar.startTimeout on a slow host.');
    }
    throw err;
  } finally {
    startTimer.cancel();
  }
}
