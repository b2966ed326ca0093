"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.SidecarProcess = void 0;
const node_child_process_1 = require("node:child_process");
const node_readline_1 = require("node:readline");
const xems_defaults_1 = require("../xems.defaults");
const xems_errors_1 = require("../xems.errors");
const binary_locator_1 = require("./binary-locator");
const frame_codec_1 = require("./frame-codec");
const protocol_1 = require("./protocol");
const sidecar_client_1 = require("./sidecar-client");
/** Environment variables the Go runtime may use; nothing else (no secrets) reaches the child. */
const CHILD_ENV_ALLOWLIST = ['GOMAXPROCS', 'GOGC', 'GOMEMLIMIT', 'GODEBUG', 'TZ', 'SYSTEMROOT', 'SystemRoot'];
const STDERR_TAIL_LINES = 20;
const MAX_LOG_LINE = 4096;
function childEnv() {
    const env = {};
    for (const name of CHILD_ENV_ALLOWLIST) {
        if (process.env[name] !== undefined)
            env[name] = process.env[name];
    }
    return env;
}
function setRefs(child, ref) {
    const handles = [child, child.stdin, child.stdout, child.stderr];
    for (const h of handles) {
        if (ref)
            h?.ref?.();
        else
            h?.unref?.();
    }
}
function delay(ms) {
    let timer;
    const promise = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
    return { promise, cancel: () => clearTimeout(timer) };
}
/**
 * Starts the sidecar binary, completes the handshake, supervises it (restart with exponential
 * backoff within a budget per minute), and stops it. Like esbuild's service: the child is
 * unref'd while no call is pending, so an idle sidecar never keeps Node alive; its stdin is the
 * life line (the child exits on EOF when this process dies, even by SIGKILL).
 */
class SidecarProcess {
    options;
    logger;
    sidecarLogger;
    emit;
    running;
    currentState = 'idle';
    launching;
    restartTimer;
    restartTimes = [];
    consecutiveFailures = 0;
    downSince = 0;
    shutdownPromise;
    busy = false;
    failure;
    constructor(options, logger, sidecarLogger, emit = () => undefined) {
        this.options = options;
        this.logger = logger;
        this.sidecarLogger = sidecarLogger;
        this.emit = emit;
    }
    get state() {
        return this.currentState;
    }
    /** The running child's pid, if any. */
    get pid() {
        return this.running?.child.pid;
    }
    get buildVersion() {
        return this.running?.hello.buildVersion;
    }
    /** Starts the first sidecar; rejects with a typed error if it cannot be started. */
    async start() {
        if (this.currentState !== 'idle')
            throw new xems_errors_1.XemsSidecarError('ALREADY_STARTED', 'The xems sidecar was already started', 'Call start() once.');
        this.currentState = 'starting';
        try {
            const running = await this.launch();
            if (this.currentState !== 'starting')
                return; // shutdown began meanwhile: stop() handles it
            this.currentState = 'running';
            this.emit({ type: 'sidecar.started', pid: running.child.pid, buildVersion: running.hello.buildVersion });
        }
        catch (err) {
            if (this.currentState === 'starting') {
                this.currentState = 'failed';
                this.failure = err instanceof Error ? err.message : String(err);
            }
            throw err;
        }
    }
    request(op, frame) {
        const running = this.running;
        if (!running || running.client.isClosed || this.currentState !== 'running') {
            return Promise.reject(new xems_errors_1.XemsUnavailableError(this.unavailableReason()));
        }
        return running.client.request(op, frame);
    }
    unavailableReason() {
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
    shutdown() {
        this.shutdownPromise ??= this.stop();
        return this.shutdownPromise;
    }
    async stop() {
        this.currentState = 'stopping';
        if (this.restartTimer)
            clearTimeout(this.restartTimer);
        this.restartTimer = undefined;
        if (this.launching)
            await this.launching.catch(() => undefined);
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
                await client.request(protocol_1.Op.SHUTDOWN, new frame_codec_1.RequestWriter(protocol_1.Op.SHUTDOWN, 0).finish(), timeoutMs);
            }
            catch (err) {
                if (!(err instanceof xems_errors_1.XemsUnavailableError))
                    this.logger.warn(`Sidecar did not acknowledge SHUTDOWN: ${err.message}`);
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
        client.close(new xems_errors_1.XemsUnavailableError('the application is shutting down'));
        this.running = undefined;
        this.currentState = 'stopped';
        this.emit({ type: 'sidecar.stopped', pid: child.pid });
    }
    /** Spawns a child, waits for HELLO and CONFIGURE within startTimeout, and installs it. */
    launch() {
        const launching = this.spawnAndHandshake().finally(() => {
            if (this.launching === launching)
                this.launching = undefined;
        });
        this.launching = launching;
        return launching;
    }
    async spawnAndHandshake() {
        const path = (0, binary_locator_1.locateSidecarBinary)(this.options.binaryPath);
        const deadline = Date.now() + this.options.startTimeoutMs;
        const stderrTail = [];
        const child = (0, node_child_process_1.spawn)(path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(), windowsHide: true });
        const spawnError = new Promise((_, reject) => {
            child.once('error', (err) => reject(new xems_errors_1.XemsSidecarError('SIDECAR_SPAWN_FAILED', `Could not start the xems sidecar (${path}): ${err.message}`, 'Check that the binary is built for this platform and executable ("npm run build:sidecar").', { cause: err })));
        });
        spawnError.catch(() => undefined);
        const exited = new Promise((resolve) => {
            child.once('exit', (code, signal) => resolve({ code, signal }));
            child.once('error', () => {
                // A child that never started emits 'error' without 'exit'.
                if (child.pid === undefined)
                    resolve({ code: null, signal: null });
            });
        });
        this.forwardLogs(child, stderrTail);
        const client = new sidecar_client_1.SidecarClient(child.stdin, child.stdout, {
            requestTimeoutMs: this.options.requestTimeoutMs,
            maxInFlight: this.options.maxInFlight,
            onBusyChange: (busy) => this.onBusyChange(child, busy),
        });
        void exited.then(({ code, signal }) => {
            client.close(new xems_errors_1.XemsUnavailableError(`it exited (${signal ? `signal ${signal}` : `code ${code}`})`));
        });
        // A corrupt stream makes the child useless: kill it, the exit handler decides what follows.
        void client.closed.then(() => {
            if (this.currentState === 'stopping' || this.currentState === 'stopped')
                return;
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
                child.kill('SIGKILL');
        });
        const startTimer = delay(this.options.startTimeoutMs);
        const timedOut = startTimer.promise.then(() => {
            throw new xems_errors_1.XemsSidecarError('SIDECAR_START_TIMEOUT', `The xems sidecar (${path}) did not complete its handshake within ${this.options.startTimeoutMs} ms`, 'Raise sidecar.startTimeout on a slow host, or check the XemsSidecar log lines.');
        });
        const stdioClosed = new Promise((resolve) => child.once('close', () => resolve()));
        const exitError = async ({ code, signal }) => {
            // Let the last stderr lines arrive: they usually say why.
            const linger = delay(200);
            await Promise.race([stdioClosed, linger.promise]);
            linger.cancel();
            const tail = stderrTail.length ? `; last log lines: ${stderrTail.join(' | ')}` : '';
            return new xems_errors_1.XemsSidecarError('SIDECAR_EXITED', `The xems sidecar (${path}) exited during start-up (${signal ? `signal ${signal}` : `code ${code}`})${tail}`, 'Check that the binary matches this module ("npm run build:sidecar") and read its log lines.');
        };
        const exitedEarly = exited.then(async (info) => {
            throw await exitError(info);
        });
        try {
            const hello = await Promise.race([client.hello, spawnError, timedOut, exitedEarly]);
            await Promise.race([this.configure(client, Math.max(1, deadline - Date.now())), spawnError, timedOut, exitedEarly]);
            const running = { child, client, exited, startedAt: Date.now(), hello };
            this.running = running;
            void exited.then((info) => this.onExit(running, info));
            setRefs(child, this.busy);
            return running;
        }
        catch (err) {
            client.close(err instanceof Error ? err : new Error(String(err)));
            const alive = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
            if (alive && !(err instanceof xems_errors_1.XemsUnavailableError))
                child.kill('SIGKILL');
            // A closed pipe usually means the child is exiting: report its exit rather than the pipe.
            const wait = delay(1000);
            const info = await Promise.race([exited, wait.promise.then(() => undefined)]);
            wait.cancel();
            if (info === undefined) {
                child.kill('SIGKILL');
                const grace = delay(1000);
                await Promise.race([exited, grace.promise]);
                grace.cancel();
            }
            else if (err instanceof xems_errors_1.XemsUnavailableError) {
                throw await exitError(info);
            }
            if (err instanceof xems_errors_1.XemsTimeoutError) {
                throw new xems_errors_1.XemsSidecarError('SIDECAR_START_TIMEOUT', `The xems sidecar did not answer CONFIGURE within the start timeout`, 'Raise sidecar.startTimeout on a slow host.');
            }
            throw err;
        }
        finally {
            startTimer.cancel();
        }
    }
    async configure(client, timeoutMs) {
        const config = JSON.stringify(this.options.logLevel ? { logLevel: this.options.logLevel } : {});
        // No secrets: the sidecar then picks a random master key (memory-only store).
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.CONFIGURE, 32 + config.length).u16(protocol_1.PROTOCOL_VERSION).bytes(Buffer.from(config, 'utf8')).u16(0);
        const reply = await client.request(protocol_1.Op.CONFIGURE, w.finish(), timeoutMs);
        if (reply.status !== protocol_1.Status.OK) {
            throw new xems_errors_1.XemsProtocolError('BAD_HANDSHAKE', `CONFIGURE answered with status ${reply.status}`, 'Rebuild the sidecar with "npm run build:sidecar".');
        }
    }
    onBusyChange(child, busy) {
        if (this.running?.child !== child)
            return;
        this.busy = busy;
        if (this.currentState === 'stopping')
            return;
        setRefs(child, busy);
    }
    onExit(running, info) {
        if (this.running !== running)
            return;
        this.running = undefined;
        this.busy = false;
        if (this.currentState === 'stopping' || this.currentState === 'stopped')
            return;
        const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
        this.downSince = Date.now();
        if (Date.now() - running.startedAt >= xems_defaults_1.XEMS_RESTART_POLICY.stableAfterMs)
            this.consecutiveFailures = 0;
        this.logger.error(`Sidecar (pid ${running.child.pid}) exited unexpectedly (${how}); in-memory sessions are lost`);
        this.scheduleRestart(`it exited unexpectedly (${how})`);
    }
    scheduleRestart(reason) {
        const now = Date.now();
        this.restartTimes = this.restartTimes.filter((t) => now - t < xems_defaults_1.XEMS_RESTART_POLICY.budgetWindowMs);
        if (this.restartTimes.length >= this.options.maxRestarts) {
            this.currentState = 'failed';
            this.failure = `${reason}; restart budget of ${this.options.maxRestarts} per minute exhausted`;
            this.logger.error(`Sidecar will not be restarted: ${this.failure}`);
            this.emit({ type: 'sidecar.unavailable', reason: this.failure, willRestart: false });
            return;
        }
        const retryInMs = Math.min(xems_defaults_1.XEMS_RESTART_POLICY.firstDelayMs * 2 ** this.consecutiveFailures, xems_defaults_1.XEMS_RESTART_POLICY.maxDelayMs);
        this.consecutiveFailures++;
        this.currentState = 'restarting';
        this.emit({ type: 'sidecar.unavailable', reason, willRestart: true, retryInMs });
        this.restartTimer = setTimeout(() => void this.restart(), retryInMs);
        // A pending restart must not keep an otherwise finished process alive.
        this.restartTimer.unref();
    }
    async restart() {
        this.restartTimer = undefined;
        if (this.currentState !== 'restarting')
            return;
        this.restartTimes.push(Date.now());
        const attempt = this.restartTimes.length;
        try {
            const running = await this.launch();
            if (this.currentState !== 'restarting')
                return; // shutdown began meanwhile: stop() handles it
            this.currentState = 'running';
            const downtimeMs = Date.now() - this.downSince;
            this.logger.warn(`Sidecar restarted (pid ${running.child.pid}, attempt ${attempt} in the last minute, down ${downtimeMs} ms)`);
            this.emit({ type: 'sidecar.restarted', pid: running.child.pid, buildVersion: running.hello.buildVersion, attempt, downtimeMs });
        }
        catch (err) {
            if (this.currentState !== 'restarting')
                return;
            const message = err instanceof xems_errors_1.XemsError ? err.message : String(err);
            this.logger.error(`Sidecar restart failed: ${message}`);
            this.scheduleRestart(`restart failed: ${message}`);
        }
    }
    /** stderr carries one JSON object per line; each becomes a Nest log line (context XemsSidecar). */
    forwardLogs(child, tail) {
        if (!child.stderr)
            return;
        const lines = (0, node_readline_1.createInterface)({ input: child.stderr, crlfDelay: Infinity });
        lines.on('line', (raw) => {
            const line = raw.length > MAX_LOG_LINE ? `${raw.slice(0, MAX_LOG_LINE)}...` : raw;
            tail.push(line);
            if (tail.length > STDERR_TAIL_LINES)
                tail.shift();
            this.forwardLogLine(child.pid, line);
        });
        lines.on('error', () => undefined);
    }
    forwardLogLine(pid, line) {
        let entry;
        try {
            const parsed = JSON.parse(line);
            if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
                entry = parsed;
        }
        catch {
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
exports.SidecarProcess = SidecarProcess;
//# sourceMappingURL=sidecar-process.js.map