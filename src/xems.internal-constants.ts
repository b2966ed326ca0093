/** Injection token of the validated options with defaults applied (ResolvedXemsOptions). */
export const XEMS_RESOLVED_OPTIONS = Symbol('XEMS_RESOLVED_OPTIONS');

/**
 * Where the WeakMap of the module's per-request state lives (on globalThis: request-session.ts).
 * Symbol.for so two copies of the package in one process still agree.
 */
export const XEMS_REQUEST_STATE = Symbol.for('nestjs-xems.request-states');

/** Shape of a sidecar token: 52 bytes in base64url without padding (docs/protocol.md). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{70}$/;
