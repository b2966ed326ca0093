/** A duration: a number of milliseconds, or a string such as `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
export type XemsDuration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;
export interface XemsCookieOptions {
    /** Cookie name. Default `'xems_token'`. */
    name?: string;
    /** Cookie path. Default `'/'`. */
    path?: string;
    /** Cookie domain. Default: none (host-only cookie). */
    domain?: string;
    /** Send the cookie over HTTPS only. Default `true`. */
    secure?: boolean;
    /** Default `'strict'`. `'none'` requires `secure: true`. */
    sameSite?: 'strict' | 'lax' | 'none';
}
/** Accepted in this shape now; the persistence issue implements it (enabled: true is refused until then). */
export interface XemsPersistenceOptions {
    enabled?: boolean;
    secret?: string;
    path?: string;
}
export interface XemsSidecarOptions {
    /** Path of the xems-sidecar binary. Default: `XEMS_SIDECAR_PATH`, else the binary inside the package. */
    binaryPath?: string;
    /** Time allowed for the sidecar to start and complete the handshake. Default 5 s. */
    startTimeout?: XemsDuration;
    /** Time allowed for one request. Default 2 s. */
    requestTimeout?: XemsDuration;
    /** Time allowed for a graceful shutdown before SIGKILL. Default 3 s. */
    shutdownTimeout?: XemsDuration;
    /** Requests waiting for a reply at once; more fail fast with XemsOverloadedError. Default 10000. */
    maxInFlight?: number;
    /** Restarts allowed within one minute after crashes. Default 10. */
    maxRestarts?: number;
}
export interface XemsModuleOptions {
    /** Default sandbox for sessions. Default `'xems.session'`. */
    sandbox?: string;
    /** Session lifetime. Default `'1h'`; capped to 5 days with a warning. */
    ttl?: XemsDuration;
    /** `true`: rotate the token on every request; `false`: never; a duration: at most that often. Default `true`. */
    autoRotation?: boolean | XemsDuration;
    /** How long a superseded token keeps working (concurrent requests). Default 2000 ms, at most 60 s. */
    gracePeriod?: XemsDuration;
    /** Cookie transport; `false` turns cookies off. Cookies are always HttpOnly. */
    cookie?: XemsCookieOptions | false;
    /** Request/response header carrying the token for non-browser clients; `false` turns it off. Default `'x-xems-token'`. */
    header?: string | false;
    persistence?: XemsPersistenceOptions;
    sidecar?: XemsSidecarOptions;
}
/** The options after validation, with every default applied and every duration in milliseconds. */
export interface ResolvedXemsOptions {
    sandbox: string;
    ttlMs: number;
    rotation: {
        enabled: boolean;
        minIntervalMs: number;
    };
    graceMs: number;
    cookie: ResolvedCookieOptions | false;
    /** Lower-cased header name, or false. */
    header: string | false;
    persistence: {
        enabled: false;
        path?: string;
    };
    sidecar: {
        binaryPath?: string;
        startTimeoutMs: number;
        requestTimeoutMs: number;
        shutdownTimeoutMs: number;
        maxInFlight: number;
        maxRestarts: number;
    };
}
export interface ResolvedCookieOptions {
    name: string;
    path: string;
    domain?: string;
    secure: boolean;
    sameSite: 'strict' | 'lax' | 'none';
}
export interface ResolveOptionsHooks {
    /** Called once when the TTL is capped to 5 days. */
    warn?(message: string): void;
}
/**
 * Validates the user's options once, at start-up, and applies the defaults.
 * Throws XemsConfigError naming the first invalid field, its problem and the fix.
 */
export declare function resolveXemsOptions(raw: XemsModuleOptions | undefined, hooks?: ResolveOptionsHooks): ResolvedXemsOptions;
