"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.parseDuration = parseDuration;
exports.isDuration = isDuration;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;
/**
 * Converts a duration to milliseconds: a number is milliseconds, a string is `<digits><unit>`
 * with unit ms, s, m, h or d (e.g. `'30s'`, `'1h'`). Returns undefined for anything else,
 * so callers can produce an error naming their own field.
 */
function parseDuration(value) {
    if (typeof value === 'number') {
        return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    }
    if (typeof value !== 'string')
        return undefined;
    const match = DURATION_PATTERN.exec(value);
    if (!match)
        return undefined;
    const ms = Number(match[1]) * UNIT_MS[match[2]];
    return Number.isSafeInteger(ms) ? ms : undefined;
}
/** True when `value` is something parseDuration accepts. */
function isDuration(value) {
    return parseDuration(value) !== undefined;
}
//# sourceMappingURL=duration.util.js.map