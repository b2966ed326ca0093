// Hard limits and fixed policies. (The defaults of the options live in their options classes,
// src/options/; XEMS_DEFAULTS in src/options/xems-defaults.ts reads them from there.)

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

/** Retry-After (seconds) sent with the 503 when the sidecar cannot answer. */
export const XEMS_UNAVAILABLE_RETRY_AFTER_S = 1;
