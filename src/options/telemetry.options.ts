import { Allow } from 'class-validator';
import { XemsConfigError } from '../xems.errors';
import { OptionBoolean, OptionOneOf } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

/**
 * The part of an OpenTelemetry `MeterProvider` the module uses (declared here so that the
 * module's types do not need `@opentelemetry/api` installed).
 */
export interface XemsMeterProvider {
  getMeter(name: string, version?: string, options?: object): unknown;
}

/** The part of an OpenTelemetry `TracerProvider` the module uses. */
export interface XemsTracerProvider {
  getTracer(name: string, version?: string, options?: object): unknown;
}

/**
 * OpenTelemetry metrics and spans (docs/observability.md). `@opentelemetry/api` is an optional
 * peer dependency, loaded only when telemetry is on; the SDK and exporters are the
 * application's choice.
 */
export class XemsTelemetryOptions {
  declare readonly [NO_DEFAULT]?: 'meterProvider' | 'tracerProvider';

  /**
   * `'auto'` (default): on when `@opentelemetry/api` can be loaded, off (nothing loaded, no
   * cost) when it is not installed. `true`: required (start-up fails without the package).
   * `false`: off.
   */
  @OptionOneOf(['auto', true, false], "Use 'auto' (on when @opentelemetry/api is installed), true (required) or false (off).")
  enabled?: 'auto' | boolean = 'auto';

  /** Counters, gauges and the sidecar call histogram on the meter `nestjs-xems`. Default `true`. */
  @OptionBoolean('Use false to record no metrics (spans are still made unless tracing is false).')
  metrics?: boolean = true;

  /** A CLIENT span around every sidecar call (op name and public session id only). Default `true`. */
  @OptionBoolean('Use false to make no spans (metrics are still recorded unless metrics is false).')
  tracing?: boolean = true;

  /** The MeterProvider to use instead of the global one (`metrics.getMeterProvider()`). */
  // Checked by resolveTelemetry (it must have getMeter, and metrics must be on).
  @Allow()
  meterProvider?: XemsMeterProvider;

  /** The TracerProvider to use instead of the global one (`trace.getTracerProvider()`). */
  // Checked by resolveTelemetry (it must have getTracer, and tracing must be on).
  @Allow()
  tracerProvider?: XemsTracerProvider;
}

export type ResolvedTelemetryOptions = Resolved<XemsTelemetryOptions>;

/** A provider given where it would be ignored, or one without the method it must have, is refused. */
export function resolveTelemetry(telemetry: ResolvedTelemetryOptions): ResolvedTelemetryOptions {
  const checks = [
    { field: 'meterProvider', method: 'getMeter', switch: 'metrics' },
    { field: 'tracerProvider', method: 'getTracer', switch: 'tracing' },
  ] as const;
  for (const check of checks) {
    const provider = telemetry[check.field] as unknown;
    if (provider === undefined) continue;
    if (typeof (provider as Record<string, unknown> | null)?.[check.method] !== 'function') {
      throw new XemsConfigError(
        `telemetry.${check.field}`,
        `has no ${check.method}() method`,
        `Pass an OpenTelemetry ${check.field === 'meterProvider' ? 'MeterProvider' : 'TracerProvider'} (from the SDK), or leave it out to use the global one.`,
      );
    }
    if (telemetry.enabled === false || !telemetry[check.switch]) {
      const off = telemetry.enabled === false ? 'telemetry.enabled is false' : `telemetry.${check.switch} is false`;
      throw new XemsConfigError(
        `telemetry.${check.field}`,
        `would be ignored: ${off}`,
        `Remove telemetry.${check.field}, or turn ${check.switch === 'metrics' ? 'metrics' : 'tracing'} on.`,
      );
    }
  }
  if (telemetry.enabled === true && !telemetry.metrics && !telemetry.tracing) {
    throw new XemsConfigError(
      'telemetry.enabled',
      'is true but metrics and tracing are both false: nothing would be recorded',
      'Turn metrics or tracing on, or use telemetry: { enabled: false }.',
    );
  }
  return telemetry;
}
