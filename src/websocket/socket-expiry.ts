/**
 * When a socket's session is re-checked for expiry (XemsSockets): just after its expiresAt,
 * never sooner than MIN_RECHECK_MS (a session answered alive at its expiry, by a clock a few
 * ms behind, is not asked again in a loop), never later than the longest Node timer.
 */
export const EXPIRY_SLACK_MS = 25;
export const MIN_RECHECK_MS = 1000;
/** After a failed check (the sidecar unavailable): try again this much later, doubling per failure in a row up to MAX_RETRY_MS. */
export const EXPIRY_RETRY_MS = 5000;
export const MAX_RETRY_MS = 60_000;
/** setTimeout's largest delay (about 24.8 days; sessions live at most 5 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The delay of the check of a session expiring at `expiresAt` (Unix ms), at `now`. */
export function expiryDelay(expiresAt: number, now: number): number {
  return Math.min(Math.max(expiresAt - now + EXPIRY_SLACK_MS, MIN_RECHECK_MS), MAX_TIMER_MS);
}

/** The wait before the next check after `failures` failed checks in a row (1 or more). */
export function retryDelay(failures: number): number {
  return Math.min(EXPIRY_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS);
}
