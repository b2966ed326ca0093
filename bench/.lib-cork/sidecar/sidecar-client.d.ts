import type { Readable, Writable } from 'node:stream';
import { SidecarReply } from './protocol';
export interface SidecarHello {
    protocolVersion: number;
    buildVersion: string;
}
export interface SidecarClientOptions {
    requestTimeoutMs: number;
    maxInFlight: number;
    /** Largest reply frame accepted; anything bigger means the stream is corrupt. */
    maxReplyFrameSize?: number;
    /** Called when the first call starts waiting (true) and when the last one settles (false). */
    onBusyChange?(busy: boolean): void;
}
/**
 * Speaks docs/protocol.md over one pair of pipes: request ids, a map of pending calls
 * (replies may come in any order), a timeout per call, a bound on calls in flight, and ONE
 * close path that fails every pending call at once. It knows nothing about processes: the
 * supervisor (sidecar-process.ts) owns the child and decides about restarts.
 */
export declare class SidecarClient {
    private readonly input;
    private readonly output;
    private readonly options;
    /** Resolves with the sidecar's HELLO; rejects if the stream closes first or the version differs. */
    readonly hello: Promise<SidecarHello>;
    /** Resolves (never rejects) with the reason once the client is closed. */
    readonly closed: Promise<Error>;
    private readonly pending;
    private readonly decoder;
    private nextId;
    private closeReason;
    private settleHello;
    private resolveClosed;
    constructor(input: Writable, output: Readable, options: SidecarClientOptions);
    get isClosed(): boolean;
    get inFlight(): number;
    /**
     * Sends one request frame (built by RequestWriter) and resolves with its reply. ERROR replies
     * reject with the matching XemsError; OK, NOT_FOUND and REUSED resolve.
     */
    request(op: number, frame: Buffer, timeoutMs?: number): Promise<SidecarReply>;
    /**
     * The one close path: marks the client closed, rejects every pending call (and the
     * handshake) at once, and stops reading. Idempotent; the first reason wins.
     */
    close(reason: Error): void;
    private unavailable;
    private allocateId;
    private settle;
    private onData;
    private onFrame;
    private onSidecarFrame;
}
