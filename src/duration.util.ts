const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** A duration written as a string: `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
export type XemsDurationString = `${number}${keyof typeof UNIT_MS}`;

/** A duration: a number of milliseconds, or a string such as `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
export type XemsDuration = number | XemsDurationString;

/**
 * Converts a duration to milliseconds: a number is milliseconds, a string is `<digits><unit>`
 * with unit ms, s, m, h or d (e.g. `'30s'`, `'1h'`). Returns undefined for anything else,
 * so callers can produce an error naming their own field.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** True when `value` is something parseDuration accepts. */
export function isDuration(value: unknown): value is number | string {
  return parseDuration(value) !== undefined;
}
