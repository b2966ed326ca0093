import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { XEMS_RESTART_POLICY } from '../xems.defaults';
import { XemsError, XemsProtocolError, XemsSidecarError, XemsTimeoutError, XemsUnavailableError, XemsVaultError } from '../xems.errors';
import { SidecarPersistence, describeVaultLoad, persistenceConfigure } from '../persistence/vault-configure';
import { SidecarStore, storeConfigure } from '../store/store.options';
import { locateSidecarBinary } from './binary-locator';
import { RequestWriter } from './frame-codec';
import { Op, PROTOCOL_VERSION, SidecarReply, Status, opName } from './protocol';
import { SidecarClient, SidecarHello } from './sidecar-client';
import type { SidecarTransport } from './sidecar-api';

export interface SidecarProcessOptions {
  binaryPath?: string;
  startTimeoutMs: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  maxInFlight: number;
  maxRestarts: number;
  /** Sidecar log level sent in CONFIGURE. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Ask the sidecar to report expired sessions (CONFIGURE expiryEvents); see onExpired. */
  onExpired?(sandbox: string, sessionIds: string[]): void;
  /** Encrypted persistence: every (re)started sidecar loads this vault (src/persistence/). */
  persistence?: SidecarPersistence;
  /** The shared Redis store (src/store/): every (re)started sidecar connects to it. */
  store?: SidecarStore;
}

/** The part of Nest's LoggerService the supervisor uses. */
export interface SidecarLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export type SidecarEvent =
  | { type: 'sidecar.started'; pid: number; buildVersion: string }
  | { type: 'sidecar.restarted'; pid: number; buildVersion: string; attempt: number; downtimeMs: number }
  | { type: 'sidecar.unavailable'; reason: string; willRestart: boolean; retryInMs?: number }
  | { type: 'sidecar.stopped'; pid: number }
  /** Persistence: a change could not be written to the vault (disk full, read-only, failing); it was not made. */
  | { type: 'vault.write-failed'; op: string; reason: string };

export type SidecarState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';

interface Running {
  child: ChildProcess;
  client: SidecarClient;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  startedAt: number;
  hello: SidecarHello;
}

/** Environment variables the Go runtime may use; nothing else (no secrets) reaches the child. */
const CHILD_ENV_ALLOWLIST = ['GOMAXPROCS', 'GOGC', 'GOMEMLIMIT', 'GODEBUG', 'TZ', 'SYSTEMROOT', 'SystemRoot'];
const STDERR_TAIL_LINES = 20;
const MAX_LOG_LINE = 4096;

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of CHILD_ENV_ALLOWLIST) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

interface Refable {
  ref?(): unknown;
  unref?(): unknown;
}

function setRefs(child: ChildProcess, ref: boolean): void {
  const handles: Array<Refable | null> = [child, child.stdin as Refable | null, child.stdout as Refable | null, child.stderr as Refable | null];
  for (const h of handles) {
    if (ref) h?.ref?.();
    else h?.unref?.();
  }
}

/** The round-trip times of the last `size` calls, for percentiles. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(size = 4096) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  /** Percentiles (nearest rank) of the window, in milliseconds; null when no call was measured. */
  percentiles(): { p50: number; p99: number; samples: number } | null {
    if (this.count === 0) return null;
    const sorted = this.samples.slice(0, this.count).sort();
    const rank = (p: number) => sorted[Math.min(this.count - 1, Math.ceil((p / 100) * this.count) - 1)];
    return { p50: rank(50), p99: rank(99), samples: this.count };
  }
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Starts the sidecar binary, completes the handshake, supervises it (restart with exponential
 * backoff within a budget per minute), and stops it. Like esbuild's service: the child is
 * unref'd while no call is pending, so an idle sidecar never keeps Node alive; its stdin is the
 * life line (the child exits on EOF when this process dies, even by SIGKILL).
 */
export class SidecarProcess implements SidecarTransport {
  /** Round-trip times of the last calls (all children), for stats(). */
  readonly latency = new LatencyWindow();
  private running: Running | undefined;
  private currentState: SidecarState = 'idle';
  private launching: Promise<Running> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartTimes: number[] = [];
  private consecutiveFailures = 0;
  private downSince = 0;
  private shutdownPromise: Promise<void> | undefined;
  private busy = false;
  private vaultFailures = 0;
  private lastVaultFailureLog = 0;
  private failure: string | undefined;

  constructor(
    private readonly options: SidecarProcessOptions,
    private readonly logger: SidecarLogger,
    private readonly sidecarLogger: SidecarLogger,
    private readonly emit: (event: SidecarEvent) => void = () => undefined,
  ) {}

  get state(): SidecarState {
    return this.currentState;
  }

  /** The running child's pid, if any. */
  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  get buildVersion(): string | undefined {
    return this.running?.hello.buildVersion;
  }

  /** Starts the first sidecar; rejects with a typed error if it cannot be started. */
  async start(): Promise<void> {
    if (this.currentState !== 'idle') throw new XemsSidecarError('ALREADY_STARTED', 'The xems sidecar was already started', 'Call start() once.');
    this.currentState = 'starting';
    try {
      const running = await this.launch();
      if (this.currentState !== 'starting') return; // shutdown began meanwhile: stop() handles it
      this.currentState = 'running';
      this.emit({ type: 'sidecar.started', pid: running.child.pid!, buildVersion: running.hello.buildVersion });
    } catch (err) {
      if (this.currentState === 'starting') {
        this.currentState = 'failed';
        this.failure = err instanceof Error ? err.message : String(err);
      }
      throw err;
    }
  }

  request(op: number, frame: Buffer): Promise<SidecarReply> {
    const running = this.running;
    if (!running || running.client.isClosed || this.currentState !== 'running') {
      return Promise.reject(new XemsUnavailableError(this.unavailableReason()));
    }
    const reply = running.client.request(op, frame);
    if (!this.options.persistence) return reply;
    return reply.catch((err: unknown) => {
      if (err instanceof XemsVaultError && err.kind === 'write-failed') this.onVaultWriteFailed(op, err);
      throw err;
    });
  }

  /** A write the vault refused: one log line per 10 s (with a count) and an event per failure. */
  private onVaultWriteFailed(op: number, err: XemsVaultError): void {
    this.vaultFailures++;
    const now = Date.now();
    if (now - this.lastVaultFailureLog >= 10_000) {
      this.lastVaultFailureLog = now;
      this.logger.error(`${err.message} (${this.vaultFailures} failed writes so far). ${err.hint}`);
    }
    this.emit({ type: 'vault.write-failed', op: opName(op), reason: err.message });
  }

  private unavailableReason(): string {
    switch (this.currentState) {
      case 'idle':
      case 'starting':
        return 'it has not started yet';
      case 'restarting':
        return 'it is restarting after a crash';
      case 'failed':
        return `it failed and will not be restarted (${this.failure ?? 'unknown reason'})`;
      default:
        return 'the application is shutting down';
    }
  }

  /**
   * Graceful stop: SHUTDOWN (the sidecar answers after every earlier request), end stdin,
   * SIGKILL if it has not exited within shutdownTimeout, then await the exit. Never restarts
   * afterwards. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stop();
    return this.shutdownPromise;
  }

  private async stop(): Promise<void> {
    this.currentState = 'stopping';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.launching) await this.launching.catch(() => undefined);
    const running = this.running;
    if (!running) {
      this.currentState = 'stopped';
      return;
    }
    const { child, client, exited } = running;
    setRefs(child, true); // keep the event loop alive until the child is gone
    const timeoutMs = this.options.shutdownTimeoutMs;
    if (!client.isClosed) {
      try {
        await client.request(Op.SHUTDOWN, new RequestWriter(Op.SHUTDOWN, 0).finish(), timeoutMs);
      } catch (err) {
        if (!(err instanceof XemsUnavailableError)) this.logger.warn(`Sidecar did not acknowledge SHUTDOWN: ${(err as Error).message}`);
      }
    }
    child.stdin?.end();
    const wait = delay(timeoutMs);
    const exitedInTime = await Promise.race([exited.then(() => true), wait.promise.then(() => false)]);
    wait.cancel();
    if (!exitedInTime) {
      this.logger.warn(`Sidecar (pid ${child.pid}) did not exit within ${timeoutMs} ms: killing it`);
      child.kill('SIGKILL');
      await exited;
    }
    client.close(new XemsUnavailableError('the application is shutting down'));
    this.running = undefined;
    this.currentState = 'stopped';
    this.emit({ type: 'sidecar.stopped', pid: child.pid! });
  }

  /** Spawns a child, waits for HELLO and CONFIGURE within startTimeout, and installs it. */
  private launch(): Promise<Running> {
    const launching = this.spawnAndHandshake().finally(() => {
      if (this.launching === launching) this.launching = undefined;
    });
    this.launching = launching;
    return launching;
  }

  private async spawnAndHandshake(): Promise<Running> {
    const path = locateSidecarBinary(this.options.binaryPath);
    const deadline = Date.now() + this.options.startTimeoutMs;
    const stderrTail: string[] = [];
    const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(), windowsHide: true });
    const spawnError = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new XemsSidecarError('SIDECAR_SPAWN_FAILED', `Could not start the xems sidecar (${path}): ${err.message}`, 'Check that the binary is built for this platform and executable ("npm run build:sidecar").', { cause: err })),
      );
    });
    spawnError.catch(() => undefined);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => {
        // A child that never started emits 'error' without 'exit'.
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    this.forwardLogs(child, stderrTail);
    const client = new SidecarClient(child.stdin!, child.stdout!, {
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxInFlight: this.options.maxInFlight,
      onBusyChange: (busy) => this.onBusyChange(child, busy),
      onExpired: this.options.onExpired,
      onLatency: (ms) => this.latency.record(ms),
    });
    void exited.then(({ code, signal }) => {
      client.close(new XemsUnavailableError(`it exited (${signal ? `signal ${signal}` : `code ${code}`})`));
    });
    // A corrupt stream makes the child useless: kill it, the exit handler decides what follows.
    void client.closed.then(() => {
      if (this.currentState === 'stopping' || this.currentState === 'stopped') return;
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
    });

    const startTimer = delay(this.options.startTimeoutMs);
    const timedOut = startTimer.promise.then(() => {
      throw new XemsSidecarError(
        'SIDECAR_START_TIMEOUT',
        `The xems sidecar (${path}) did not complete its handshake within ${this.options.startTimeoutMs} ms`,
        'Raise sidecar.startTimeout on a slow host, or check the XemsSidecar log lines.',
      );
    });
    const stdioClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const exitError = async ({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }) => {
      // Let the last stderr lines arrive: they usually say why.
      const linger = delay(200);
      await Promise.race([stdioClosed, linger.promise]);
      linger.cancel();
      const tail = stderrTail.length ? `; last log lines: ${stderrTail.join(' | ')}` : '';
      return new XemsSidecarError(
        'SIDECAR_EXITED',
        `The xems sidecar (${path}) exited during start-up (${signal ? `signal ${signal}` : `code ${code}`})${tail}`,
        'Check that the binary matches this module ("npm run build:sidecar") and read its log lines.',
      );
    };
    const exitedEarly = exited.then(async (info) => {
      throw await exitError(info);
    });
    try {
      const hello = await Promise.race([client.hello, spawnError, timedOut, exitedEarly]);
      await Promise.race([this.configure(client, Math.max(1, deadline - Date.now())), spawnError, timedOut, exitedEarly]);
      const running: Running = { child, client, exited, startedAt: Date.now(), hello };
      this.running = running;
      void exited.then((info) => this.onExit(running, info));
      setRefs(child, this.busy);
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

  private async configure(client: SidecarClient, timeoutMs: number): Promise<void> {
    const vault = this.options.persistence ? persistenceConfigure(this.options.persistence) : undefined;
    const shared = this.options.store ? storeConfigure(this.options.store) : undefined;
    const config = JSON.stringify({
      ...(this.options.logLevel ? { logLevel: this.options.logLevel } : {}),
      ...(this.options.onExpired ? { expiryEvents: true } : {}),
      ...(vault ? { persistence: vault.config } : {}),
      ...(shared ? { store: shared.config } : {}),
    });
    // Without persistence, no secrets: the sidecar picks a random master key (memory-only
    // store). With it, the vault secret and machine identity travel only in this frame.
    const secrets = [...(vault?.secrets ?? []), ...(shared?.secrets ?? [])];
    const w = new RequestWriter(Op.CONFIGURE, 160 + config.length).u16(PROTOCOL_VERSION).bytes(Buffer.from(config, 'utf8')).u16(secrets.length);
    for (const [name, value] of secrets) w.str(name, 'secret name').bytes(value);
    const frame = w.finish();
    let reply: SidecarReply;
    try {
      reply = await client.request(Op.CONFIGURE, frame, timeoutMs);
    } finally {
      // The sidecar has read the frame once it answered (or is gone): wipe our copies.
      frame.fill(0);
      for (const [, value] of secrets) value.fill(0);
    }
    if (reply.status !== Status.OK) {
      throw new XemsProtocolError('BAD_HANDSHAKE', `CONFIGURE answered with status ${reply.status}`, 'Rebuild the sidecar with "npm run build:sidecar".');
    }
    if (vault) {
      const loaded = describeVaultLoad(reply.body.str());
      if (loaded) this.logger.log(loaded);
    }
  }

  private onBusyChange(child: ChildProcess, busy: boolean): void {
    if (this.running?.child !== child) return;
    this.busy = busy;
    if (this.currentState === 'stopping') return;
    setRefs(child, busy);
  }

  private onExit(running: Running, info: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.running !== running) return;
    this.running = undefined;
    this.busy = false;
    if (this.currentState === 'stopping' || this.currentState === 'stopped') return;
    const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
    this.downSince = Date.now();
    if (Date.now() - running.startedAt >= XEMS_RESTART_POLICY.stableAfterMs) this.consecutiveFailures = 0;
    this.logger.error(`Sidecar (pid ${running.child.pid}) exited unexpectedly (${how}); ${this.options.persistence ? 'sessions and values are reloaded from the vault by the restarted sidecar' : this.options.store ? 'sessions and values are in Redis: the restarted sidecar serves them again' : 'in-memory sessions are lost'}`);
    this.scheduleRestart(`it exited unexpectedly (${how})`);
  }

  private scheduleRestart(reason: string): void {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < XEMS_RESTART_POLICY.budgetWindowMs);
    if (this.restartTimes.length >= this.options.maxRestarts) {
      this.currentState = 'failed';
      this.failure = `${reason}; restart budget of ${this.options.maxRestarts} per minute exhausted`;
      this.logger.error(`Sidecar will not be restarted: ${this.failure}`);
      this.emit({ type: 'sidecar.unavailable', reason: this.failure, willRestart: false });
      return;
    }
    const retryInMs = Math.min(
      XEMS_RESTART_POLICY.firstDelayMs * 2 ** this.consecutiveFailures,
      XEMS_RESTART_POLICY.maxDelayMs,
    );
    this.consecutiveFailures++;
    this.currentState = 'restarting';
    this.emit({ type: 'sidecar.unavailable', reason, willRestart: true, retryInMs });
    this.restartTimer = setTimeout(() => void this.restart(), retryInMs);
    // A pending restart must not keep an otherwise finished process alive.
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.currentState !== 'restarting') return;
    this.restartTimes.push(Date.now());
    const attempt = this.restartTimes.length;
    try {
      const running = await this.launch();
      if (this.currentState !== 'restarting') return; // shutdown began meanwhile: stop() handles it
      this.currentState = 'running';
      const downtimeMs = Date.now() - this.downSince;
      this.logger.warn(`Sidecar restarted (pid ${running.child.pid}, attempt ${attempt} in the last minute, down ${downtimeMs} ms)`);
      this.emit({ type: 'sidecar.restarted', pid: running.child.pid!, buildVersion: running.hello.buildVersion, attempt, downtimeMs });
    } catch (err) {
      if (this.currentState !== 'restarting') return;
      const message = err instanceof XemsError ? err.message : String(err);
      this.logger.error(`Sidecar restart failed: ${message}`);
      this.scheduleRestart(`restart failed: ${message}`);
    }
  }

  /** stderr carries one JSON object per line; each becomes a Nest log line (context XemsSidecar). */
  private forwardLogs(child: ChildProcess, tail: string[]): void {
    if (!child.stderr) return;
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    lines.on('line', (raw) => {
      const line = raw.length > MAX_LOG_LINE ? `${raw.slice(0, MAX_LOG_LINE)}...` : raw;
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      this.forwardLogLine(child.pid, line);
    });
    lines.on('error', () => undefined);
  }

  private forwardLogLine(pid: number | undefined, line: string): void {
    let entry: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) entry = parsed as Record<string, unknown>;
    } catch {
      entry = undefined;
    }
    if (!entry) {
      this.sidecarLogger.warn(`[pid ${pid}] ${line}`);
      return;
    }
    const { level, msg, time: _time, ...attrs } = entry;
    const extra = Object.keys(attrs).length ? ` ${JSON.stringify(attrs)}` : '';
    const text = `[pid ${pid}] ${String(msg ?? '')}${extra}`;
    switch (String(level ?? '').toUpperCase()) {
      case 'ERROR':
        this.sidecarLogger.error(text);
        break;
      case 'WARN':
        this.sidecarLogger.warn(text);
        break;
      case 'DEBUG':
        this.sidecarLogger.debug?.(text);
        break;
      default:
        this.sidecarLogger.log(text);
    }
  }
}
