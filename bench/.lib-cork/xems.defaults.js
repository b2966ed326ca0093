"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.XEMS_UNAVAILABLE_RETRY_AFTER_S = exports.XEMS_RESTART_POLICY = exports.XEMS_LIMITS = exports.XEMS_DEFAULTS = void 0;
/** Every default of the module, in one place (the README's option table mirrors this file). */
exports.XEMS_DEFAULTS = {
    sandbox: 'xems.session',
    ttl: '1h',
    autoRotation: true,
    gracePeriod: 2000,
    cookie: {
        name: 'xems_token',
        path: '/',
        domain: undefined,
        secure: true,
        sameSite: 'strict',
    },
    header: 'x-xems-token',
    persistence: { enabled: false },
    sidecar: {
        startTimeout: 5000,
        requestTimeout: 2000,
        shutdownTimeout: 3000,
        maxInFlight: 10000,
        maxRestarts: 10,
    },
};
/** Hard limits shared with the sidecar (docs/protocol.md). */
exports.XEMS_LIMITS = {
    /** The longest TTL the sidecar accepts: 5 days. */
    maxTtlMs: 432_000_000,
    /** The longest grace window the sidecar accepts. */
    maxGraceMs: 60_000,
    maxKeyBytes: 1024,
    sandboxPattern: /^[A-Za-z0-9._:-]{1,64}$/,
};
/** Restart policy of a crashed sidecar. */
exports.XEMS_RESTART_POLICY = {
    firstDelayMs: 50,
    maxDelayMs: 5000,
    budgetWindowMs: 60_000,
    /** A child that stayed up this long resets the backoff to firstDelayMs. */
    stableAfterMs: 10_000,
};
/** Status code and Retry-After (seconds) sent when the sidecar cannot answer. */
exports.XEMS_UNAVAILABLE_RETRY_AFTER_S = 1;
//# sourceMappingURL=xems.defaults.js.map