/** Injection token of the validated options with defaults applied (ResolvedXemsOptions). */
export declare const XEMS_RESOLVED_OPTIONS: unique symbol;
/**
 * Property of the request object holding the module's per-request state. Symbol.for so two
 * copies of the package in one process still agree.
 */
export declare const XEMS_REQUEST_STATE: unique symbol;
/** Shape of a sidecar token: 52 bytes in base64url without padding (docs/protocol.md). */
export declare const TOKEN_PATTERN: RegExp;
