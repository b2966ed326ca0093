import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_RETRY_MS, EXPIRY_SLACK_MS, MAX_RETRY_MS, MIN_RECHECK_MS, expiryDelay, retryDelay } from './socket-expiry';

describe('expiryDelay (the re-check of a socket session at its expiry)', () => {
  const now = 1_700_000_000_000;
  const cases: Array<[string, number, number]> = [
    ['just after a future expiry', now + 60_000, 60_000 + EXPIRY_SLACK_MS],
    ['an expiry sooner than the minimum: the minimum', now + 10, MIN_RECHECK_MS],
    ['an expiry already past (a clock behind): the minimum, never a loop', now - 5_000, MIN_RECHECK_MS],
    ['five days: within a Node timer', now + 432_000_000, 432_000_000 + EXPIRY_SLACK_MS],
    ['beyond a Node timer: capped', now + 2 ** 32, 2 ** 31 - 1],
  ];
  for (const [name, expiresAt, want] of cases) {
    it(name, () => assert.equal(expiryDelay(expiresAt, now), want));
  }
});

describe('retryDelay (after failed re-checks in a row)', () => {
  const cases: Array<[number, number]> = [
    [1, EXPIRY_RETRY_MS],
    [2, 2 * EXPIRY_RETRY_MS],
    [3, 4 * EXPIRY_RETRY_MS],
    [4, 8 * EXPIRY_RETRY_MS],
    [5, MAX_RETRY_MS],
    [60, MAX_RETRY_MS],
  ];
  for (const [failures, want] of cases) {
    it(`${failures} failure(s): ${want} ms`, () => assert.equal(retryDelay(failures), want));
  }
});
