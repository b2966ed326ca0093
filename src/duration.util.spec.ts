import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDuration, parseDuration } from './duration.util';

describe('parseDuration', () => {
  const valid: Array<[unknown, number]> = [
    [0, 0],
    [1500, 1500],
    ['0ms', 0],
    ['250ms', 250],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['5d', 432_000_000],
    ['007s', 7000],
  ];
  for (const [input, ms] of valid) {
    it(`${JSON.stringify(input)} -> ${ms} ms`, () => {
      assert.equal(parseDuration(input), ms);
      assert.equal(isDuration(input), true);
    });
  }

  const invalid: unknown[] = [
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 60,
    '',
    '1',
    '10 s',
    ' 10s',
    '10s ',
    '1.5h',
    '-1s',
    '1w',
    '1H',
    '1hour',
    '10sms',
    '99999999999999999999d',
    null,
    undefined,
    true,
    {},
    [],
    '1e3ms',
  ];
  for (const input of invalid) {
    it(`refuses ${typeof input === 'string' ? JSON.stringify(input) : String(input)}`, () => {
      assert.equal(parseDuration(input), undefined);
      assert.equal(isDuration(input), false);
    });
  }
});
