/**
 * Every error the library throws on purpose is an XemsError: callers can catch the base class,
 * switch on `code`, and show `hint` (how to fix it) to whoever configures the application.
 */
export declare class XemsError extends Error {
    /** Stable machine-readable code, e.g. `VALUE_TOO_LARGE` or `SIDECAR_NOT_FOUND`. */
    readonly code: string;
    /** How to fix the problem, written for the developer or operator. */
    readonly hint: string;
    constructor(code: string, message: string, hint: string, options?: {
        cause?: unknown;
    });
}
/** A module option is invalid. Thrown once, at start-up. */
export declare class XemsConfigError extends XemsError {
    /** The option's path, e.g. `cookie.name`. */
    readonly field: string;
    constructor(field: string, problem: string, hint: string);
}
/** The sidecar binary is missing, could not start, or failed in an unexpected way. */
export declare class XemsSidecarError extends XemsError {
}
/** The sidecar did not answer a request within `sidecar.requestTimeout`. */
export declare class XemsTimeoutError extends XemsError {
    constructor(op: string, timeoutMs: number);
}
/** Too many requests are already waiting for the sidecar (`sidecar.maxInFlight`). */
export declare class XemsOverloadedError extends XemsError {
    constructor(maxInFlight: number);
}
/** The sidecar is not running (starting, restarting, crashed, or shut down). */
export declare class XemsUnavailableError extends XemsError {
    constructor(reason: string, options?: {
        cause?: unknown;
    });
}
/** The sidecar broke the wire protocol, or speaks another protocol version. */
export declare class XemsProtocolError extends XemsError {
}
/** A value, key, sandbox name or TTL was refused (by the module or by the sidecar). */
export declare class XemsValidationError extends XemsError {
}
