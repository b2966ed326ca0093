import type { IncomingMessage, ServerResponse } from 'node:http';
import { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Observable } from 'rxjs';
import { SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess } from './sidecar/sidecar-process';
import { TokenTransport } from './token-transport';
import type { XemsEvent } from './xems.events';
import type { ResolvedXemsOptions, XemsDuration } from './xems.options';
/** What resolveSession returns for a live session. */
export interface XemsResolvedSession<T = unknown> {
    data: T;
    /** The session's current token (differs from the presented one after a rotation or inside the grace window). */
    token: string;
    /** True only for the call that performed the rotation. */
    rotated: boolean;
    /** Server-side expiry, Unix milliseconds. */
    expiresAt: number;
    /** Public, non-secret session id. */
    id: string;
}
export interface XemsCreateSessionOptions {
    ttl?: XemsDuration;
    /** Groups the sessions of one user (listSessions, revokeSessions). Stored only as a keyed hash. */
    userId?: string;
    /** Non-secret description of the device (shown by listSessions). */
    meta?: {
        ip?: string;
        userAgent?: string;
    };
}
export interface XemsResolveOptions {
    sandbox?: string;
    /** Rotate the token (default false). */
    rotate?: boolean;
    /** Grace window of superseded tokens; default: the module's gracePeriod. */
    gracePeriod?: XemsDuration;
    /** Rotate only if the current token is at least this old (default 0). */
    minRotateInterval?: XemsDuration;
}
export interface XemsLinkOptions {
    sandbox?: string;
    ttl?: XemsDuration;
    userId?: string;
}
export interface XemsSessionInfo {
    id: string;
    createdAt: number;
    lastSeenAt: number;
    expiresAt: number;
    ip?: string;
    userAgent?: string;
    /** True for the session of the request being handled (or of `current`). */
    current: boolean;
}
/** A key-value store bound to one sandbox: `xems.from('otp-pending')`. */
export interface XemsStore {
    readonly sandbox: string;
    /** Stores any JSON-serializable value (undefined is refused). ttl defaults to the module's ttl. */
    set(key: string, value: unknown, ttl?: XemsDuration): Promise<void>;
    /** The value, or null when absent or expired. A session token of this sandbox returns the session's data (no rotation). */
    get<T = unknown>(key: string): Promise<T | null>;
    /** Deletes the key; a session token of this sandbox revokes that session. True if something was removed. */
    del(key: string): Promise<boolean>;
    has(key: string): Promise<boolean>;
    /** Remaining lifetime in milliseconds, or null when absent. */
    ttl(key: string): Promise<number | null>;
    /** Restarts the key's lifetime (default: the module's ttl). False when absent. */
    touch(key: string, ttl?: XemsDuration): Promise<boolean>;
}
type Req = IncomingMessage;
type Res = ServerResponse;
export declare function assertSandbox(sandbox: unknown): asserts sandbox is string;
/**
 * The module's API: sessions (create, resolve, update, revoke, link/unlink a request),
 * sandboxed key-value storage (`from(sandbox)`), device lists, and events. It also owns the
 * sidecar's life cycle: started in onModuleInit, stopped in onApplicationShutdown.
 */
export declare class XemsService implements OnModuleInit, OnApplicationShutdown {
    readonly options: ResolvedXemsOptions;
    private readonly logger;
    private readonly eventSubject;
    /** Sidecar and session events; see XemsEvent. Sessions events carry ids, never tokens. */
    readonly events$: Observable<XemsEvent>;
    /** @internal */
    readonly sidecar: SidecarProcess;
    /** @internal Typed sidecar operations (used by the benchmarks). */
    readonly api: SidecarApi;
    /** @internal */
    readonly transport: TokenTransport;
    constructor(options: ResolvedXemsOptions);
    onModuleInit(): Promise<void>;
    onApplicationShutdown(): Promise<void>;
    /** A key-value store bound to `sandbox`. */
    from(sandbox: string): XemsStore;
    /** Creates a session holding `data` (any JSON value) and returns its token. */
    createSession(sandbox: string, data: unknown, options?: XemsCreateSessionOptions): Promise<string>;
    /**
     * Resolves a token: its data, the current token and expiry, or null when the token is
     * unknown, expired, revoked, or reused after its grace window (which revokes the session).
     */
    resolveSession<T = unknown>(token: string, options?: XemsResolveOptions): Promise<XemsResolvedSession<T> | null>;
    /**
     * Replaces the session's data. `target` is a token, or the request whose session (set by
     * SessionGuard or link) to update: then @Session()/getSession() in the same request see the
     * new data too. False when the session is dead.
     */
    updateSession(target: string | Req, data: unknown, options?: {
        sandbox?: string;
    }): Promise<boolean>;
    /** Revokes the session of `token` (any of its tokens, including those in the grace window). */
    revokeSession(token: string, options?: {
        sandbox?: string;
    }): Promise<boolean>;
    /**
     * Logs a request in (XEMS's xLink): revokes the session the request carried (a login never
     * keeps a pre-login token), creates a session, sends its token the way the client speaks
     * (cookie, or the header when the request used the header), makes it the request's session
     * (getSession(req), @Session() in later-running code, listSessions) and returns the token.
     */
    link(req: Req, res: Res, data: unknown, sandboxOrOptions?: string | XemsLinkOptions): Promise<string>;
    /**
     * Logs a request out (XEMS's xUnlink): revokes its session (tokens in the grace window die
     * with it), clears the cookie (same name, path and domain, expired) and drops the token
     * header. Idempotent.
     */
    unlink(req: Req, res: Res): Promise<void>;
    /** The data of the request's session (set by SessionGuard or link), or undefined. */
    getSession<T = unknown>(req: Req): T | undefined;
    /**
     * The live sessions of `userId` (created with a userId), newest first. `current` (a token or
     * a session id) marks one as current; by default the session of the request being handled.
     */
    listSessions(userId: string, options?: {
        sandbox?: string;
        current?: string;
    }): Promise<XemsSessionInfo[]>;
    /** Revokes one session by its public id (a devices page). True if it existed. */
    revokeSessionById(id: string, options?: {
        sandbox?: string;
    }): Promise<boolean>;
    /**
     * Revokes every session of `userId` ("log out everywhere"), except `except` (a token or a
     * session id) when given. Returns how many were revoked.
     */
    revokeSessions(userId: string, options?: {
        sandbox?: string;
        except?: string;
    }): Promise<number>;
    /** Counters and sizes reported by the sidecar (STATS). */
    stats(): Promise<unknown>;
    private create;
    /** Revokes whatever session the request carries or was given in this request. */
    private revokeRequestSession;
    private presentedToken;
    private currentState;
    private currentSessionId;
    private parseMeta;
    private assertUserId;
    private assertHeadersNotSent;
    private ttlMs;
    private durationMs;
}
export {};
