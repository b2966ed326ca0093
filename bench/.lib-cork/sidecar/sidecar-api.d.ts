import { SidecarReply } from './protocol';
/** Anything that can carry one request to the sidecar and bring its reply back. */
export interface SidecarTransport {
    request(op: number, frame: Buffer): Promise<SidecarReply>;
}
export interface KvEntry {
    value: Buffer;
    expiresAt: number;
}
export interface CreatedSession {
    token: string;
    sessionId: string;
    expiresAt: number;
}
export type ResolveResult = {
    status: 'ok';
    token: string;
    rotated: boolean;
    expiresAt: number;
    sessionId: string;
    data: Buffer;
} | {
    status: 'not_found';
} | {
    status: 'reused';
    sessionId: string;
};
export interface ListedSession {
    sessionId: string;
    createdAt: number;
    lastSeenAt: number;
    expiresAt: number;
    meta: Buffer;
}
/**
 * The typed operations of docs/protocol.md: encodes each request body and decodes each reply
 * body. Keys, values and session data are raw bytes here; JSON lives in XemsService.
 */
export declare class SidecarApi {
    private readonly transport;
    constructor(transport: SidecarTransport);
    private call;
    ping(): Promise<void>;
    stats(): Promise<unknown>;
    kvSet(sandbox: string, key: Buffer, value: Buffer, ttlMs: number): Promise<number>;
    kvGet(sandbox: string, key: Buffer): Promise<KvEntry | null>;
    kvDel(sandbox: string, key: Buffer): Promise<boolean>;
    kvHas(sandbox: string, key: Buffer): Promise<boolean>;
    /** Remaining milliseconds, or null when the key is absent. */
    kvTtl(sandbox: string, key: Buffer): Promise<number | null>;
    /** The new expiry, or null when the key is absent. */
    kvTouch(sandbox: string, key: Buffer, ttlMs: number): Promise<number | null>;
    kvScan(sandbox: string, prefix: Buffer, cursor: string, limit: number): Promise<{
        nextCursor: string;
        keys: Buffer[];
    }>;
    clear(sandbox: string): Promise<number>;
    sCreate(sandbox: string, data: Buffer, ttlMs: number, idleMs: number, userId: string, meta?: Buffer): Promise<CreatedSession>;
    sResolve(sandbox: string, token: string, rotate: boolean, graceMs: number, minRotateIntervalMs: number): Promise<ResolveResult>;
    /** The session's expiry, or null when the token is dead. */
    sUpdate(sandbox: string, token: string, data: Buffer): Promise<number | null>;
    sRevoke(sandbox: string, token: string): Promise<boolean>;
    sList(sandbox: string, userId: string): Promise<ListedSession[]>;
    sRevokeAll(sandbox: string, userId: string, exceptToken: string): Promise<number>;
    sRevokeId(sandbox: string, sessionId: string): Promise<boolean>;
    private flagOp;
    private i64OrNull;
}
