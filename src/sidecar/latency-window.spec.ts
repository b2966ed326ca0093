import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow } from './latency-window';

describe('LatencyWindow', () => {
  it('gives nearest-rank p50 and p99 over the last N samples', () => {
    const w = new LatencyWindow(100);
    assert.equal(w.percentiles(), null);
    for (let i = 100; i >= 1; i--) w.record(i);
    assert.deepEqual(w.percentiles(), { p50: 50, p99: 99, samples: 100 });
    for (let i = 0; i < 100; i++) w.record(1000 + i); // the window slides: old samples are gone
    assert.deepEqual(w.percentiles(), { p50: 1049, p99: 1098, samples: 100 });
    const one = new LatencyWindow(10);
    one.record(0.25);
    assert.deepEqual(one.percentiles(), { p50: 0.25, p99: 0.25, samples: 1 });
  });
});
