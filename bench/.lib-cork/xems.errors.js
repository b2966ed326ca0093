"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.XemsValidationError = exports.XemsProtocolError = exports.XemsUnavailableError = exports.XemsOverloadedError = exports.XemsTimeoutError = exports.XemsSidecarError = exports.XemsConfigError = exports.XemsError = void 0;
/**
 * Every error the library throws on purpose is an XemsError: callers can catch the base class,
 * switch on `code`, and show `hint` (how to fix it) to whoever configures the application.
 */
class XemsError extends Error {
    /** Stable machine-readable code, e.g. `VALUE_TOO_LARGE` or `SIDECAR_NOT_FOUND`. */
    code;
    /** How to fix the problem, written for the developer or operator. */
    hint;
    constructor(code, message, hint, options) {
        super(message, options?.cause === undefined ? undefined : { cause: options.cause });
        this.name = new.target.name;
        this.code = code;
        this.hint = hint;
    }
}
exports.XemsError = XemsError;
/** A module option is invalid. Thrown once, at start-up. */
class XemsConfigError extends XemsError {
    /** The option's path, e.g. `cookie.name`. */
    field;
    constructor(field, problem, hint) {
        super('INVALID_OPTION', `Invalid XemsModule option "${field}": ${problem}`, hint);
        this.field = field;
    }
}
exports.XemsConfigError = XemsConfigError;
/** The sidecar binary is missing, could not start, or failed in an unexpected way. */
class XemsSidecarError extends XemsError {
}
exports.XemsSidecarError = XemsSidecarError;
/** The sidecar did not answer a request within `sidecar.requestTimeout`. */
class XemsTimeoutError extends XemsError {
    constructor(op, timeoutMs) {
        super('TIMEOUT', `The xems sidecar did not answer ${op} within ${timeoutMs} ms`, 'The sidecar may be overloaded or stuck; raise sidecar.requestTimeout only if the host is known to be slow.');
    }
}
exports.XemsTimeoutError = XemsTimeoutError;
/** Too many requests are already waiting for the sidecar (`sidecar.maxInFlight`). */
class XemsOverloadedError extends XemsError {
    constructor(maxInFlight) {
        super('OVERLOADED', `The xems sidecar already has ${maxInFlight} requests in flight`, 'Shed load (the guard answers 503 with Retry-After) or raise sidecar.maxInFlight if memory allows.');
    }
}
exports.XemsOverloadedError = XemsOverloadedError;
/** The sidecar is not running (starting, restarting, crashed, or shut down). */
class XemsUnavailableError extends XemsError {
    constructor(reason, options) {
        super('UNAVAILABLE', `The xems sidecar is unavailable: ${reason}`, 'Retry shortly: the module restarts a crashed sidecar with backoff. If this persists, read the XemsSidecar log lines.', options);
    }
}
exports.XemsUnavailableError = XemsUnavailableError;
/** The sidecar broke the wire protocol, or speaks another protocol version. */
class XemsProtocolError extends XemsError {
}
exports.XemsProtocolError = XemsProtocolError;
/** A value, key, sandbox name or TTL was refused (by the module or by the sidecar). */
class XemsValidationError extends XemsError {
}
exports.XemsValidationError = XemsValidationError;
//# sourceMappingURL=xems.errors.js.map