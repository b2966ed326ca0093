import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_SLACK_MS, MIN_RECHECK_MS, expiryDelay } from './socket-expiry';

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
