import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { XemsEvent } from '../xems.events';
import { SessionMetrics } from './session-metrics';
import { XEMS_METER_NAME, XEMS_METRICS } from './telemetry-names';

/** A real SDK meter with an in-memory exporter, and the sums of every counter point by name and attributes. */
async function withMeter(gauges: { running: boolean; sessions?: Record<string, number> | Error }, run: (metrics: SessionMetrics) => void) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const metrics = new SessionMetrics(provider.getMeter(XEMS_METER_NAME), {
    running: () => gauges.running,
    sessionsPerSandbox: async () => {
      if (gauges.sessions instanceof Error) throw gauges.sessions;
      return gauges.sessions ?? {};
    },
  });
  run(metrics);
  await reader.forceFlush();
  const rm = exporter.getMetrics().at(-1)!;
  await provider.shutdown();
  const out: Record<string, number> = {};
  for (const m of rm.scopeMetrics[0]?.metrics ?? []) {
    for (const p of m.dataPoints) out[`${m.descriptor.name} ${JSON.stringify(p.attributes)}`] = p.value as number;
  }
  return out;
}

const ev = (e: Record<string, unknown>) => e as unknown as XemsEvent;

describe('SessionMetrics', () => {
  it('counts revocations by the reason the event carries and device refreshes by the event type, including ones added later', async () => {
    const got = await withMeter({ running: true, sessions: { a: 2 } }, (m) => {
      for (const reason of ['revoked', 'admin', 'credential-change', 'device', 'admin']) {
        m.count(ev({ type: 'session.revoked', sandbox: 'a', sessionId: 's', reason }));
      }
      m.count(ev({ type: 'sessions.revoked-all', sandbox: 'a', count: 3, reason: 'admin' }));
      m.count(ev({ type: 'session.device-refreshed', sandbox: 'a', sessionId: 's' }));
      m.count(ev({ type: 'session.device-registered', sandbox: 'a', sessionId: 's' }));
      m.count(ev({ type: 'sidecar.restarted', pid: 1, buildVersion: 'x', attempt: 1, downtimeMs: 5 }));
      m.count(ev({ type: 'sidecar.unavailable', reason: 'it exited', willRestart: true }));
    });
    const revoked = (reason: string) => got[`${XEMS_METRICS.revocations} {"xems.sandbox":"a","xems.revoke.reason":"${reason}"}`];
    assert.deepEqual(['revoked', 'admin', 'credential-change', 'device'].map(revoked), [1, 5, 1, 1]); // admin: 2 + revokeAll's 3
    assert.equal(got[`${XEMS_METRICS.deviceRefreshes} {"xems.sandbox":"a"}`], 1);
    assert.equal(got[`${XEMS_METRICS.events} {"xems.sandbox":"a","xems.event.type":"session.device-registered"}`], 1);
    assert.equal(got[`${XEMS_METRICS.sidecarRestarts} {}`], 1);
    assert.equal(got[`${XEMS_METRICS.sidecarUp} {}`], 1);
    assert.equal(got[`${XEMS_METRICS.live} {"xems.sandbox":"a"}`], 2);
    // A sidecar event is not a session event: it is not counted under xems.session.events.
    assert.ok(!Object.keys(got).some((k) => k.includes('sidecar.unavailable')));
  });

  it('reports the sidecar down as 0 and no live-session sample rather than a wrong one', async () => {
    const down = await withMeter({ running: false }, () => undefined);
    assert.equal(down[`${XEMS_METRICS.sidecarUp} {}`], 0);
    assert.ok(!Object.keys(down).some((k) => k.startsWith(XEMS_METRICS.live)));
    const failing = await withMeter({ running: true, sessions: new Error('gone') }, () => undefined);
    assert.equal(failing[`${XEMS_METRICS.sidecarUp} {}`], 1);
    assert.ok(!Object.keys(failing).some((k) => k.startsWith(XEMS_METRICS.live)));
  });
});
