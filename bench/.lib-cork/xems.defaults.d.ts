/** Every default of the module, in one place (the README's option table mirrors this file). */
export declare const XEMS_DEFAULTS: {
    readonly sandbox: "xems.session";
    readonly ttl: "1h";
    readonly autoRotation: true;
    readonly gracePeriod: 2000;
    readonly cookie: {
        readonly name: "xems_token";
        readonly path: "/";
        readonly domain: string | undefined;
        readonly secure: true;
        readonly sameSite: "strict";
    };
    readonly header: "x-xems-token";
    readonly persistence: {
        readonly enabled: false;
    };
    readonly sidecar: {
        readonly startTimeout: 5000;
        readonly requestTimeout: 2000;
        readonly shutdownTimeout: 3000;
        readonly maxInFlight: 10000;
        readonly maxRestarts: 10;
    };
};
/** Hard limits shared with the sidecar (docs/protocol.md). */
export declare const XEMS_LIMITS: {
    /** The longest TTL the sidecar accepts: 5 days. */
    readonly maxTtlMs: 432000000;
    /** The longest grace window the sidecar accepts. */
    readonly maxGraceMs: 60000;
    readonly maxKeyBytes: 1024;
    readonly sandboxPattern: RegExp;
};
/** Restart policy of a crashed sidecar. */
export declare const XEMS_RESTART_POLICY: {
    readonly firstDelayMs: 50;
    readonly maxDelayMs: 5000;
    readonly budgetWindowMs: 60000;
    /** A child that stayed up this long resets the backoff to firstDelayMs. */
    readonly stableAfterMs: 10000;
};
/** Status code and Retry-After (seconds) sent when the sidecar cannot answer. */
export declare const XEMS_UNAVAILABLE_RETRY_AFTER_S = 1;
