import { SidecarReply } from './protocol';
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
}
/** The part of Nest's LoggerService the supervisor uses. */
export interface SidecarLogger {
    log(message: string): void;
    warn(message: string): void;
    error(message: string): void;
    debug?(message: string): void;
}
export type SidecarEvent = {
    type: 'sidecar.started';
    pid: number;
    buildVersion: string;
} | {
    type: 'sidecar.restarted';
    pid: number;
    buildVersion: string;
    attempt: number;
    downtimeMs: number;
} | {
    type: 'sidecar.unavailable';
    reason: string;
    willRestart: boolean;
    retryInMs?: number;
} | {
    type: 'sidecar.stopped';
    pid: number;
};
export type SidecarState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';
/**
 * Starts the sidecar binary, completes the handshake, supervises it (restart with exponential
 * backoff within a budget per minute), and stops it. Like esbuild's service: the child is
 * unref'd while no call is pending, so an idle sidecar never keeps Node alive; its stdin is the
 * life line (the child exits on EOF when this process dies, even by SIGKILL).
 */
export declare class SidecarProcess implements SidecarTransport {
    private readonly options;
    private readonly logger;
    private readonly sidecarLogger;
    private readonly emit;
    private running;
    private currentState;
    private launching;
    private restartTimer;
    private restartTimes;
    private consecutiveFailures;
    private downSince;
    private shutdownPromise;
    private busy;
    private failure;
    constructor(options: SidecarProcessOptions, logger: SidecarLogger, sidecarLogger: SidecarLogger, emit?: (event: SidecarEvent) => void);
    get state(): SidecarState;
    /** The running child's pid, if any. */
    get pid(): number | undefined;
    get buildVersion(): string | undefined;
    /** Starts the first sidecar; rejects with a typed error if it cannot be started. */
    start(): Promise<void>;
    request(op: number, frame: Buffer): Promise<SidecarReply>;
    private unavailableReason;
    /**
     * Graceful stop: SHUTDOWN (the sidecar answers after every earlier request), end stdin,
     * SIGKILL if it has not exited within shutdownTimeout, then await the exit. Never restarts
     * afterwards. Idempotent.
     */
    shutdown(): Promise<void>;
    private stop;
    /** Spawns a child, waits for HELLO and CONFIGURE within startTimeout, and installs it. */
    private launch;
    private spawnAndHandshake;
    private configure;
    private onBusyChange;
    private onExit;
    private scheduleRestart;
    private restart;
    /** stderr carries one JSON object per line; each becomes a Nest log line (context XemsSidecar). */
    private forwardLogs;
    private forwardLogLine;
}
