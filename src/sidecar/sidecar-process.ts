import type { ChildProcess } from 'node:child_process';
import { XEMS_RESTART_POLICY } from '../xems.defaults';
import { XemsError, XemsSidecarError, XemsUnavailableError, XemsVaultError } from '../xems.errors';
import { RequestWriter } from './frame-codec';
import { LatencyWindow } from './latency-window';
import { Op, ReplyDecoder, opName } from './protocol';
import type { SidecarTransport } from './sidecar-api';
import { ChildExit, RunningSidecar, delay, launchSidecar, setRefs } from './sidecar-launch';
import type { SidecarEvent, SidecarLogger, SidecarProcessOptions, SidecarState } from './sidecar-options';

// The supervisor's types live in sidecar-options.ts; the module imports them from here.
export type { SidecarEvent, SidecarLogger, SidecarProcessOptions, SidecarState } from './sidecar-options';

/**
 * A call before the module was initialised: Nest starts the sidecar in onModuleInit, which
 * `Test.createTestingModule(...).compile()` alone does not run.
 */
function notInitialised(): XemsSidecarError {
  return new XemsSidecarError(
    'NOT_INITIALISED',
    'The xems sidecar has not started because the module has not been initialised: call app.init() / moduleRef.init() before using XemsService',
    'Nest starts the sidecar in onModuleInit. In tests, call init() on the TestingModule (or on the app created from it) after compile(), and close() when done.',
  );
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
  private running: RunningSidecar | undefined;
  private currentState: SidecarState = 'idle';
  private launching: Promise<RunningSidecar> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartTimes: number[] = [];
  private consecutiveFailures = 0;
  private downSince = 0;
  private shutdownPromise: Promise<void> | undefined;
  private busy = false;
  private vaultFailures = 0;
  private lastVaultFailureLog = 0;
  private failure: string | undefined;
  /** One warning per process for a development build of the sidecar (its version is not checked). */
  private versionWarned = false;

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

  send<T>(op: number, frame: Buffer, decode: ReplyDecoder<T>): Promise<T> {
    const running = this.running;
    if (!running || running.client.isClosed || this.currentState !== 'running') {
      if (this.currentState === 'idle') return Promise.reject(notInitialised());
      return Promise.reject(new XemsUnavailableError(this.unavailableReason()));
    }
    const reply = running.client.send(op, frame, decode);
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

  /** Spawns a child, completes the handshake within startTimeout (sidecar-launch.ts), and installs it. */
  private launch(): Promise<RunningSidecar> {
    const launching = launchSidecar({
      options: this.options,
      logger: this.logger,
      sidecarLogger: this.sidecarLogger,
      onBusyChange: (child, busy) => this.onBusyChange(child, busy),
      onLatency: (ms) => this.latency.record(ms),
      stopping: () => this.currentState === 'stopping' || this.currentState === 'stopped',
      onUncheckedVersion: (message) => {
        if (this.versionWarned) return;
        this.versionWarned = true;
        this.logger.warn(message);
      },
      onReady: (running) => this.install(running),
    }).finally(() => {
      if (this.launching === launching) this.launching = undefined;
    });
    this.launching = launching;
    return launching;
  }

  private install(running: RunningSidecar): void {
    this.running = running;
    void running.exited.then((info) => this.onExit(running, info));
    setRefs(running.child, this.busy);
  }

  private onBusyChange(child: ChildProcess, busy: boolean): void {
    if (this.running?.child !== child) return;
    this.busy = busy;
    if (this.currentState === 'stopping') return;
    setRefs(child, busy);
  }

  private onExit(running: RunningSidecar, info: ChildExit): void {
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
}
