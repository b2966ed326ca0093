import type { Attributes, Histogram, Meter, ProxyTracerProvider, Span, SpanOptions, Tracer, TracerProvider } from '@opentelemetry/api';
import { opName } from '../sidecar/protocol';
import { XemsError } from '../xems.errors';
import type { OtelApiModule } from './otel-api';
import { XEMS_METRICS } from './telemetry-names';

/** `rpc.system.name` of the sidecar's calls (a custom value: the protocol is the module's own). */
export const XEMS_RPC_SYSTEM = 'xems';
/** The RPC service part of `rpc.method` (`xems.Sidecar/S_RESOLVE`) and of the span names. */
const RPC_SERVICE = 'xems.Sidecar';

/**
 * Buckets in seconds for a local pipe round trip: tens of microseconds when idle, milliseconds
 * under load, up to the request timeout.
 */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What an op's calls share: made on its first call, reused by every later one. */
interface OpTelemetry {
  spanName: string;
  spanOptions: SpanOptions;
  okAttributes: Attributes;
  /** error.type -> the histogram's attributes for a failed call. */
  errorAttributes: Map<string, Attributes>;
}

/** A failure's `error.type`: the XemsError's stable code, else the class name. */
function errorType(err: unknown): string {
  if (err instanceof XemsError) return err.code;
  return err instanceof Error ? err.name : '_OTHER';
}

/**
 * A CLIENT span and a duration measurement per sidecar call, following OpenTelemetry's RPC
 * conventions (`rpc.system.name`, `rpc.method`, `error.type`, histogram
 * `rpc.client.call.duration` in seconds). Span attributes are the op and, where the caller
 * knows it, the public `session.id` (and `session.previous_id`): never a token, a key, data,
 * an address or a user agent. Per-op names and attribute sets are made once.
 */
export class SidecarCallTelemetry {
  private readonly ops: Array<OpTelemetry | undefined> = [];
  private readonly duration: Histogram | undefined;
  /** Set while the tracer is the global proxy with no SDK behind it yet (tracerIdle). */
  private waitingForSdk: { provider: ProxyTracerProvider; none: TracerProvider } | undefined;

  constructor(
    private readonly otel: OtelApiModule,
    private readonly tracer: Tracer | undefined,
    meter: Meter | undefined,
    /** The provider `tracer` came from. */
    tracerProvider?: TracerProvider,
  ) {
    this.duration = meter?.createHistogram(XEMS_METRICS.callDuration, {
      unit: 's',
      description: 'Duration of calls from this process to its xems sidecar, per operation.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    // The API's global provider hands out proxy tracers whose spans are no-ops until an SDK
    // registers a provider, which may happen after start-up: until then each call only checks.
    const Proxy = otel.ProxyTracerProvider as typeof ProxyTracerProvider | undefined;
    if (tracer && Proxy && tracerProvider instanceof Proxy && tracer instanceof otel.ProxyTracer) {
      this.waitingForSdk = { provider: tracerProvider, none: tracerProvider.getDelegate() };
    }
  }

  /**
   * True when a call has nothing to record: no histogram, and no tracer or one that would make a
   * no-op span (the global proxy with no SDK registered yet). Such calls skip the observing.
   */
  get idle(): boolean {
    return this.duration === undefined && (this.tracer === undefined || this.tracerIdle());
  }

  private tracerIdle(): boolean {
    const waiting = this.waitingForSdk;
    if (!waiting) return false;
    if (waiting.provider.getDelegate() === waiting.none) return true;
    this.waitingForSdk = undefined; // an SDK registered: its spans from now on
    return false;
  }

  /** Starts the call's span (a child of the active context, e.g. the HTTP request's span). */
  start(op: number): Span | undefined {
    if (!this.tracer || this.tracerIdle()) return undefined;
    return this.tracer.startSpan(this.op(op).spanName, this.op(op).spanOptions);
  }

  /** Ends the call: its span (with the session ids and the error, if any) and its measurement. */
  end(op: number, span: Span | undefined, startedAt: number, err?: unknown, sessionId?: string, previousSessionId?: string): void {
    const t = this.op(op);
    let attributes = t.okAttributes;
    if (err !== undefined) {
      const type = errorType(err);
      attributes = t.errorAttributes.get(type) ?? this.errorAttributes(t, type);
    }
    this.duration?.record((performance.now() - startedAt) / 1000, attributes);
    if (!span) return;
    if (sessionId) span.setAttribute('session.id', sessionId);
    if (previousSessionId) span.setAttribute('session.previous_id', previousSessionId);
    if (err !== undefined) {
      // The type only: an error's message may quote what the caller passed.
      span.setAttribute('error.type', errorType(err));
      span.setStatus({ code: this.otel.SpanStatusCode.ERROR });
    }
    span.end();
  }

  private op(op: number): OpTelemetry {
    let t = this.ops[op];
    if (!t) {
      const method = `${RPC_SERVICE}/${opName(op)}`;
      const okAttributes = { 'rpc.system.name': XEMS_RPC_SYSTEM, 'rpc.method': method };
      t = {
        spanName: method,
        spanOptions: { kind: this.otel.SpanKind.CLIENT, attributes: okAttributes },
        okAttributes,
        errorAttributes: new Map(),
      };
      this.ops[op] = t;
    }
    return t;
  }

  private errorAttributes(t: OpTelemetry, type: string): Attributes {
    const attributes = { ...t.okAttributes, 'error.type': type };
    t.errorAttributes.set(type, attributes);
    return attributes;
  }
}
