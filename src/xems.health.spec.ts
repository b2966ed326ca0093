import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsHealthCheckError, XemsHealthIndicator } from './xems.health';
import type { SidecarApi } from './sidecar/sidecar-api';
import type { SidecarProcess } from './sidecar/sidecar-process';

function indicator(state: string, ping: () => Promise<void>) {
  return new XemsHealthIndicator({ state, pid: 42, buildVersion: 'v1' } as unknown as SidecarProcess, { ping } as unknown as SidecarApi);
}

async function downCauses(p: Promise<unknown>): Promise<Record<string, { status: string; message: string }>> {
  const err = await p.then(
    () => assert.fail('expected the indicator to throw'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof XemsHealthCheckError);
  assert.equal(err.isHealthCheckError, true);
  return err.causes as Record<string, { status: string; message: string }>;
}

describe('XemsHealthIndicator', () => {
  it('is up with pid, build and latency when the sidecar answers PING', async () => {
    const r = await indicator('running', async () => undefined).isHealthy('store');
    assert.deepEqual(Object.keys(r), ['store']);
    assert.equal(r.store.status, 'up');
    assert.equal(r.store.pid, 42);
    assert.equal(r.store.buildVersion, 'v1');
    assert.equal(typeof r.store.latencyMs, 'number');
  });

  it('is down (thrown, in the shape terminus recognises) when not running, failing or too slow', async () => {
    assert.deepEqual(await downCauses(indicator('restarting', async () => undefined).isHealthy()), {
      xems: { status: 'down', message: 'the sidecar is restarting' },
    });
    const failing = await downCauses(indicator('running', async () => Promise.reject(new Error('boom'))).isHealthy('x'));
    assert.deepEqual(failing, { x: { status: 'down', message: 'boom' } });
    const slow = await downCauses(indicator('running', () => new Promise(() => undefined)).isHealthy('x', { timeoutMs: 20 }));
    assert.match(slow.x.message, /within 20 ms/);
  });
});
