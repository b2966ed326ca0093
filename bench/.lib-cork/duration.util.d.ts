/**
 * Converts a duration to milliseconds: a number is milliseconds, a string is `<digits><unit>`
 * with unit ms, s, m, h or d (e.g. `'30s'`, `'1h'`). Returns undefined for anything else,
 * so callers can produce an error naming their own field.
 */
export declare function parseDuration(value: unknown): number | undefined;
/** True when `value` is something parseDuration accepts. */
export declare function isDuration(value: unknown): value is number | string;
