import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCap } from './ttl-cap';

describe('TtlCap', () => {
  it('caps at 5 days and warns once per kind of setting', () => {
    const warnings: string[] = [];
    const cap = new TtlCap((m) => warnings.push(m));
    assert.equal(cap.apply(1000, 'a', 1000), 1000);
    assert.equal(cap.apply(432_000_000, 'a', '5d'), 432_000_000);
    assert.deepEqual(warnings, []);
    assert.equal(cap.apply(864_000_000, 'A ttl given to set()', '10d'), 432_000_000);
    assert.equal(cap.apply(604_800_000, 'A ttl given to set()', '7d'), 432_000_000);
    assert.equal(cap.apply(604_800_000, 'A ttl given to link()', '7d'), 432_000_000);
    assert.deepEqual(warnings, [
      'A ttl given to set() ("10d") is longer than 5 days: capped to 5 days.',
      'A ttl given to link() ("7d") is longer than 5 days: capped to 5 days.',
    ]);
  });
});
