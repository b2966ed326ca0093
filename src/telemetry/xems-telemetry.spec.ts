import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { SidecarApi } from '../sidecar/sidecar-api';
import type { SidecarProcess } from '../sidecar/sidecar-process';
import { XemsEvents } from '../xems.events';
import { resolveXemsOptions } from '../xems.resolved-options';
import { InstrumentedSidecarApi } from './instrumented-sidecar-api';
import { XemsTelemetry } from './xems-telemetry';

// Never started: these tests only look at what the module is wired with.
const sidecar = { state: 'idle' } as unknown as SidecarProcess;

describe('XemsTelemetry wiring', () => {
  it('off: the plain SidecarApi, no subscription to the event stream, nothing loaded', () => {
    const events = new XemsEvents();
    let loads = 0;
    const telemetry = new XemsTelemetry(resolveXemsOptions({ telemetry: { enabled: false } }), events, sidecar, () => {
      loads++;
      return {};
    });
    assert.equal(telemetry.active, false);
    assert.equal(telemetry.sidecarApi().constructor, SidecarApi);
    assert.equal(events.observed, false, 'the hot path builds no event objects for telemetry');
    assert.equal(loads, 0);
  });

  it("'auto' without the package: the same as off", () => {
    const events = new XemsEvents();
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
    };
    const telemetry = new XemsTelemetry(resolveXemsOptions(), events, sidecar, missing);
    assert.equal(telemetry.active, false);
    assert.equal(telemetry.sidecarApi().constructor, SidecarApi);
    assert.equal(events.observed, false);
  });

  it('on: the instrumented API, the counters listen until the stream completes (shutdown)', () => {
    const events = new XemsEvents();
    const provider = new MeterProvider();
    const telemetry = new XemsTelemetry(resolveXemsOptions({ telemetry: { meterProvider: provider } }), events, sidecar);
    assert.equal(telemetry.active, true);
    assert.ok(telemetry.sidecarApi() instanceof InstrumentedSidecarApi);
    assert.equal(events.observed, true);
    events.complete();
    assert.equal(events.observed, false);
  });

  it('tracing only: spans without a meter, and no subscription', () => {
    const events = new XemsEvents();
    const telemetry = new XemsTelemetry(resolveXemsOptions({ telemetry: { metrics: false } }), events, sidecar);
    assert.ok(telemetry.sidecarApi() instanceof InstrumentedSidecarApi);
    assert.equal(events.observed, false);
  });
});
