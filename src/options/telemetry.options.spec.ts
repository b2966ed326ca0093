import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusesOptions } from '../../test/support/config-errors';
import { resolveXemsOptions } from '../xems.resolved-options';

const meterProvider = { getMeter: () => ({}) };
const tracerProvider = { getTracer: () => ({}) };

describe('telemetry options', () => {
  it("default to 'auto' with metrics and tracing, and keep a given provider as it is", () => {
    assert.deepEqual(resolveXemsOptions().telemetry, {
      enabled: 'auto',
      metrics: true,
      tracing: true,
      meterProvider: undefined,
      tracerProvider: undefined,
    });
    const o = resolveXemsOptions({ telemetry: { enabled: true, meterProvider, tracerProvider } }).telemetry;
    assert.equal(o.meterProvider, meterProvider);
    assert.equal(o.tracerProvider, tracerProvider);
  });

  it('refuse a value that is not auto, true or false, and unknown fields', () => {
    refusesOptions({ telemetry: { enabled: 'yes' } }, 'telemetry.enabled', /'auto', true or false/);
    refusesOptions({ telemetry: { metrics: 1 } }, 'telemetry.metrics', /true or false/);
    refusesOptions({ telemetry: { exporter: 'prometheus' } }, 'telemetry.exporter', /not a known option/);
    refusesOptions({ telemetry: 'on' }, 'telemetry', /must be an object/);
  });

  it('refuse a provider without its method, or one that would be ignored', () => {
    refusesOptions({ telemetry: { meterProvider: {} } }, 'telemetry.meterProvider', /no getMeter\(\) method/);
    refusesOptions({ telemetry: { tracerProvider: { getMeter: () => ({}) } } }, 'telemetry.tracerProvider', /no getTracer\(\) method/);
    refusesOptions({ telemetry: { enabled: false, meterProvider } }, 'telemetry.meterProvider', /ignored: telemetry.enabled is false/);
    refusesOptions({ telemetry: { metrics: false, meterProvider } }, 'telemetry.meterProvider', /ignored: telemetry.metrics is false/);
    refusesOptions({ telemetry: { tracing: false, tracerProvider } }, 'telemetry.tracerProvider', /ignored: telemetry.tracing is false/);
  });

  it('refuse enabled: true with nothing to record; accept both off under auto', () => {
    refusesOptions({ telemetry: { enabled: true, metrics: false, tracing: false } }, 'telemetry.enabled', /nothing would be recorded/);
    assert.equal(resolveXemsOptions({ telemetry: { metrics: false, tracing: false } }).telemetry.enabled, 'auto');
  });
});
