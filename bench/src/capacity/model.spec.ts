/** `cd bench && npm test` (compiles the bench, then runs this file with node:test). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GIB, imbalanceOf, plan, sessionsPerGiB, spreadOf, type CapacityInputs, type Demand } from './model';

const inputs: CapacityInputs = { redisBytesPerSession: 1024, redisCpuUsPerRequest: 40, redisCpuUsPerLogin: 100 };
const demand: Demand = {
  requestsPerSec: 50_000,
  loginsPerSec: 1_000,
  liveSessions: 10_000_000,
  cpuTarget: 0.5,
  memoryGiBPerMaster: 4,
  imbalance: 1,
};

describe('capacity model', () => {
  it('sessions per GiB divides a GiB by the bytes per session', () => {
    assert.equal(sessionsPerGiB(1024), 1024 * 1024);
    assert.equal(sessionsPerGiB(1000), Math.floor(GIB / 1000));
    assert.throws(() => sessionsPerGiB(0), RangeError);
  });

  it('sizes by CPU when CPU is the limit', () => {
    // (50000 × 40 + 1000 × 100) / 1e6 = 2.1 cores; at 50 % per master: 5 masters.
    const p = plan(inputs, demand);
    assert.equal(p.cores, 2.1);
    assert.equal(p.mastersForCpu, 5);
    // 10 M × 1 KiB = 9.54 GiB; 4 GiB per master: 3 masters.
    assert.ok(Math.abs(p.memoryGiB - 9.5367) < 1e-3);
    assert.equal(p.mastersForMemory, 3);
    assert.equal(p.masters, 5);
    assert.ok(Math.abs(p.busiestCpu - 0.42) < 1e-9);
    assert.ok(p.busiestCpu <= demand.cpuTarget);
  });

  it('sizes by memory when sessions are the limit', () => {
    const p = plan(inputs, { ...demand, requestsPerSec: 1000, liveSessions: 100_000_000 });
    assert.equal(p.mastersForMemory, 24);
    assert.equal(p.masters, 24);
    assert.ok(p.busiestMemoryGiB <= 4);
  });

  it('an uneven spread needs more masters', () => {
    const even = plan(inputs, demand);
    const uneven = plan(inputs, { ...demand, imbalance: 1.2 });
    assert.equal(uneven.mastersForCpu, 6); // ceil(2.1 × 1.2 / 0.5) = ceil(5.04)
    assert.ok(uneven.masters > even.masters);
    assert.ok(uneven.busiestCpu <= demand.cpuTarget);
  });

  it('never fewer than one master, and a load of nothing needs one', () => {
    const p = plan(inputs, { ...demand, requestsPerSec: 0, loginsPerSec: 0, liveSessions: 0 });
    assert.equal(p.masters, 1);
    assert.equal(p.cores, 0);
  });

  it('rejects inputs that would give a meaningless answer', () => {
    assert.throws(() => plan(inputs, { ...demand, cpuTarget: 0 }), /cpuTarget/);
    assert.throws(() => plan(inputs, { ...demand, cpuTarget: 1.5 }), /at most 1/);
    assert.throws(() => plan(inputs, { ...demand, imbalance: 0.9 }), /imbalance/);
    assert.throws(() => plan({ ...inputs, redisCpuUsPerRequest: NaN }, demand), /redisCpuUsPerRequest/);
    assert.throws(() => plan(inputs, { ...demand, requestsPerSec: -1 }), /requestsPerSec/);
  });

  it('imbalance and spread of keys per master', () => {
    assert.equal(imbalanceOf([100, 100, 100]), 1);
    assert.ok(Math.abs(imbalanceOf([120, 90, 90]) - 1.2) < 1e-9);
    assert.equal(spreadOf([120, 90, 100]), 120 / 90);
    assert.equal(spreadOf([10, 0, 5]), Infinity);
    assert.equal(imbalanceOf([0, 0, 0]), 1);
    assert.throws(() => imbalanceOf([]), RangeError);
  });
});
