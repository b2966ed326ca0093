import type { Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { SidecarApi } from '../sidecar/sidecar-api';
import type { SidecarProcess } from '../sidecar/sidecar-process';
import { packageVersion } from '../sidecar/sidecar-version';
import type { XemsEvents } from '../xems.events';
import type { ResolvedXemsOptions } from '../xems.resolved-options';
import { InstrumentedSidecarApi } from './instrumented-sidecar-api';
import { type OtelApiModule, loadOtelApi } from './otel-api';
import { SessionMetrics } from './session-metrics';
import { XEMS_METER_NAME } from './telemetry-names';
import { SidecarCallTelemetry } from './sidecar-call-telemetry';

/** The sidecar's STATS reply, as far as the live-sessions gauge reads it. */
interface SandboxStats {
  sandboxes?: Record<string, { sessions?: number }>;
}

/**
 * The module's OpenTelemetry part (docs/observability.md): loads `@opentelemetry/api` only when
 * `telemetry.enabled` allows it, counts the event stream (SessionMetrics) and provides the
 * SidecarApi the module uses (instrumented, or the plain one when telemetry is off). Made by
 * a factory provider; with telemetry off it holds nothing, subscribes to nothing, and the hot
 * path is untouched.
 */
export class XemsTelemetry {
  private readonly calls: SidecarCallTelemetry | undefined;

  constructor(
    options: ResolvedXemsOptions,
    events: XemsEvents,
    private readonly sidecar: SidecarProcess,
    load?: (name: string) => unknown,
  ) {
    const { telemetry } = options;
    const otel: OtelApiModule | undefined = loadOtelApi(telemetry.enabled, load);
    if (!otel) return;
    const version = packageVersion();
    const anyMeter: Meter | undefined = telemetry.metrics
      ? ((telemetry.meterProvider as MeterProvider | undefined) ?? otel.metrics.getMeterProvider()).getMeter(XEMS_METER_NAME, version)
      : undefined;
    // The API's no-op meter (no SDK registered a MeterProvider before start-up) records nothing,
    // now or later (the metrics API hands out no proxies): the same as metrics off, so nothing
    // listens to the event stream and no measurement is made per call.
    const meter = anyMeter && !isNoopMeter(otel, anyMeter) ? anyMeter : undefined;
    const tracerProvider = telemetry.tracing
      ? ((telemetry.tracerProvider as TracerProvider | undefined) ?? otel.trace.getTracerProvider())
      : undefined;
    const tracer: Tracer | undefined = tracerProvider?.getTracer(XEMS_METER_NAME, version);
    this.calls = new SidecarCallTelemetry(otel, tracer, meter, tracerProvider);
    if (meter) {
      // Stats for the gauge go through a plain SidecarApi: a scrape makes no spans.
      const statsApi = new SidecarApi(sidecar);
      const metrics = new SessionMetrics(meter, {
        running: () => sidecar.state === 'running',
        sessionsPerSandbox: async () => {
          const stats = (await statsApi.stats()) as SandboxStats;
          const counts: Record<string, number> = {};
          for (const [name, sandbox] of Object.entries(stats.sandboxes ?? {})) counts[name] = sandbox.sessions ?? 0;
          return counts;
        },
      });
      // The service completes the stream at shutdown (Nest and standalone alike): the gauges stop then.
      events.events$.subscribe({ next: (event) => metrics.count(event), complete: () => metrics.close() });
    }
  }

  /** True when telemetry is on (the package was loaded). */
  get active(): boolean {
    return this.calls !== undefined;
  }

  /** The SidecarApi the module uses: instrumented when telemetry is on, else the plain one. */
  sidecarApi(): SidecarApi {
    return this.calls ? new InstrumentedSidecarApi(this.sidecar, this.calls) : new SidecarApi(this.sidecar);
  }
}

/** True for the API's own no-op meter (what the global MeterProvider gives before an SDK is registered). */
function isNoopMeter(otel: OtelApiModule, meter: Meter): boolean {
  const noop = otel.createNoopMeter();
  return meter === noop || meter.constructor === noop.constructor;
}
