/** Every default of the module, in one place (the README's option table mirrors this file). */
export const XEMS_DEFAULTS = {
  sandbox: 'xems.session',
  ttl: '1h',
  autoRotation: true,
  gracePeriod: 2000,
  cookie: {
    name: 'xems_token',
    path: '/',
    domain: undefined as string | undefined,
    secure: true,
    sameSite: 'strict' as const,
  },
  header: 'x-xems-token',
  idleTimeout: false,
  maxSessionsPerUser: 0,
  onLimit: 'evict-oldest' as const,
  binding: { ip: 'off' as const, userAgent: false, onMismatch: 'revoke' as const },
  csrf: { header: 'x-csrf-token', field: '_csrf', origins: undefined as string[] | undefined },
  expressHelpers: false,
  /** AsyncLocalStorage per request (listSessions knows the caller); measured at 0-8 µs per request. */
  requestContext: true,
  persistence: { enabled: false, fsync: 'everysec' as const },
  /** With persistence: bind the vault key to this machine's identity. */
  hardwareBinding: true,
  /** Where records live: 'memory' (each instance its own), or 'redis' (shared; keyPrefix and timeout apply). */
  store: { type: 'memory' as const, keyPrefix: 'xems:', timeout: '1s' },
  /** XemsStore (express-session): its sandbox, and the TTL of a session whose cookie has no expiry. */
  expressSession: { sandbox: 'express-session', ttl: '1d' },
  sidecar: {
    startTimeout: 5000,
    requestTimeout: 2000,
    shutdownTimeout: 3000,
    maxInFlight: 10000,
    maxRestarts: 10,
  },
} as const;

/** Hard limits shared with the sidecar (docs/protocol.md). */
export const XEMS_LIMITS = {
  /** The longest TTL the sidecar accepts: 5 days. */
  maxTtlMs: 432_000_000,
  /** The longest grace window the sidecar accepts. */
  maxGraceMs: 60_000,
  maxKeyBytes: 1024,
  sandboxPattern: /^[A-Za-z0-9._:-]{1,64}$/,
} as const;

/** Restart policy of a crashed sidecar. */
export const XEMS_RESTART_POLICY = {
  firstDelayMs: 50,
  maxDelayMs: 5000,
  budgetWindowMs: 60_000,
  /** A child that stayed up this long resets the backoff to firstDelayMs. */
  stableAfterMs: 10_000,
} as const;

/** Status code and Retry-After (seconds) sent when the sidecar cannot answer. */
export const XEMS_UNAVAILABLE_RETRY_AFTER_S = 1;
