import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BodyReader } from '../sidecar/frame-codec';
import { Op, type ReplyDecoder, Status } from '../sidecar/protocol';
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

  it("'auto' with the package but no SDK: nothing observed per call until an SDK registers a tracer provider", async () => {
    let calls = 0;
    const answering = {
      state: 'running',
      // PING answers OK, S_RESOLVE NOT_FOUND: both with an empty body.
      send: <T>(op: number, _frame: Buffer, decode: ReplyDecoder<T>) => (
        calls++,
        Promise.resolve(decode(op === Op.PING ? Status.OK : Status.NOT_FOUND, new BodyReader(Buffer.alloc(0))))
      ),
    } as unknown as SidecarProcess;
    const events = new XemsEvents();
    const telemetry = new XemsTelemetry(resolveXemsOptions(), events, answering);
    assert.equal(telemetry.active, true, 'the package is installed');
    assert.equal(events.observed, false, "the API's no-op meter records nothing: no counters listen");
    const api = telemetry.sidecarApi();
    assert.ok(api instanceof InstrumentedSidecarApi);
    await api.ping();

    const exporter = new InMemorySpanExporter();
    assert.ok(trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })));
    try {
      await api.ping();
      await api.sResolve('s', 't'.repeat(70), true, 0, 0);
      assert.equal(calls, 3);
      assert.deepEqual(
        exporter.getFinishedSpans().map((s) => s.name),
        ['xems.Sidecar/PING', 'xems.Sidecar/S_RESOLVE'],
        'an SDK registered after start-up gets the spans of the calls after it',
      );
    } finally {
      trace.disable();
    }
  });

  it('a meter from a registered global MeterProvider still counts the events', () => {
    assert.ok(metrics.setGlobalMeterProvider(new MeterProvider()));
    try {
      const events = new XemsEvents();
      new XemsTelemetry(resolveXemsOptions(), events, sidecar);
      assert.equal(events.observed, true);
      events.complete();
    } finally {
      metrics.disable();
    }
  });
});
