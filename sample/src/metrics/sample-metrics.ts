import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The sample's OpenTelemetry metrics: a MeterProvider whose one reader is the Prometheus
 * exporter, without its own HTTP server (MetricsController serves it at /metrics). The module
 * gets this provider through `telemetry.meterProvider`, so nothing global is registered (tests
 * start several samples in one process).
 */
export class SampleMetrics {
  readonly exporter = new PrometheusExporter({ preventServerStart: true });
  readonly meterProvider = new MeterProvider({ readers: [this.exporter] });

  shutdown(): Promise<void> {
    return this.meterProvider.shutdown();
  }
}
