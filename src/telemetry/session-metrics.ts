import type { Attributes, BatchObservableCallback, Counter, Meter, ObservableGauge } from '@opentelemetry/api';
import type { XemsEvent } from '../xems.events';
import { XEMS_ATTRIBUTES, XEMS_METRICS } from './telemetry-names';

/** The event of a device-bound session's verified refresh (device binding, issue 16), counted by its type. */
const DEVICE_REFRESHED = 'session.device-refreshed';

/**
 * Attribute sets made once per (sandbox[, key, value]) and reused: counting an event allocates
 * nothing here (the SDK copies what it keeps). Sandboxes, reasons, actions and event types come
 * from code and configuration, so these maps stay small.
 */
class AttributeSets {
  private readonly plain = new Map<string, Attributes>();
  /** key -> value -> sandbox -> attributes. */
  private readonly keyed = new Map<string, Map<string, Map<string, Attributes>>>();

  of(sandbox: string): Attributes {
    let attributes = this.plain.get(sandbox);
    if (!attributes) this.plain.set(sandbox, (attributes = { [XEMS_ATTRIBUTES.sandbox]: sandbox }));
    return attributes;
  }

  with(sandbox: string, key: string, value: string): Attributes {
    let byValue = this.keyed.get(key);
    if (!byValue) this.keyed.set(key, (byValue = new Map()));
    let bySandbox = byValue.get(value);
    if (!bySandbox) byValue.set(value, (bySandbox = new Map()));
    let attributes = bySandbox.get(sandbox);
    if (!attributes) bySandbox.set(sandbox, (attributes = { [XEMS_ATTRIBUTES.sandbox]: sandbox, [key]: value }));
    return attributes;
  }
}

/** What the live-sessions gauge reads: sessions per sandbox (stats()), and whether the sidecar runs. */
export interface SessionGaugeSource {
  running(): boolean;
  sessionsPerSandbox(): Promise<Record<string, number>>;
}

/**
 * The counters, derived from the module's event stream generically: a revocation is counted
 * with the event's own `reason`, every `session.*` event by its type, so new reasons and event
 * types (step-up, device binding) are counted without a change here. The gauges read the
 * sidecar's state and stats() when the SDK collects.
 */
export class SessionMetrics {
  private readonly attributes = new AttributeSets();
  private readonly created: Counter;
  private readonly rotations: Counter;
  private readonly reuseDetected: Counter;
  private readonly revocations: Counter;
  private readonly bindingMismatches: Counter;
  private readonly expirations: Counter;
  private readonly deviceRefreshes: Counter;
  private readonly events: Counter;
  private readonly restarts: Counter;
  private readonly live: ObservableGauge;
  private readonly up: ObservableGauge;
  private readonly observeGauges: BatchObservableCallback;
  /** Sandboxes that had sessions: reported as 0 once they have none (not dropped from the series). */
  private readonly seenSandboxes = new Set<string>();

  constructor(
    private readonly meter: Meter,
    gauges: SessionGaugeSource,
  ) {
    const counter = (name: string, unit: string, description: string) => meter.createCounter(name, { unit, description });
    this.created = counter(XEMS_METRICS.created, '{session}', 'Sessions created (login, createSession).');
    this.rotations = counter(XEMS_METRICS.rotations, '{rotation}', 'Token rotations.');
    this.reuseDetected = counter(
      XEMS_METRICS.reuseDetected,
      '{session}',
      'Sessions revoked because a superseded token came back (theft suspected).',
    );
    this.revocations = counter(XEMS_METRICS.revocations, '{session}', 'Sessions ended before their expiry, by reason.');
    this.bindingMismatches = counter(XEMS_METRICS.bindingMismatches, '{request}', 'Requests that did not match their session binding.');
    this.expirations = counter(XEMS_METRICS.expirations, '{session}', 'Sessions removed because their lifetime or idle timeout ran out.');
    this.deviceRefreshes = counter(XEMS_METRICS.deviceRefreshes, '{refresh}', 'Verified refresh proofs of device-bound sessions.');
    this.events = counter(XEMS_METRICS.events, '{event}', 'Every session event, by type.');
    this.restarts = counter(XEMS_METRICS.sidecarRestarts, '{restart}', 'Restarts of the sidecar after a crash.');
    this.live = meter.createObservableGauge(XEMS_METRICS.live, { unit: '{session}', description: 'Live sessions, per sandbox.' });
    this.up = meter.createObservableGauge(XEMS_METRICS.sidecarUp, { unit: '1', description: '1 while the sidecar answers, else 0.' });
    this.observeGauges = async (result) => {
      const running = gauges.running();
      result.observe(this.up, running ? 1 : 0);
      if (!running) return;
      let counts: Record<string, number>;
      try {
        counts = await gauges.sessionsPerSandbox();
      } catch {
        return; // the sidecar went away during the collection: no new value rather than a wrong 0
      }
      for (const sandbox of Object.keys(counts)) if (counts[sandbox] > 0) this.seenSandboxes.add(sandbox);
      for (const sandbox of this.seenSandboxes) result.observe(this.live, counts[sandbox] ?? 0, this.attributes.of(sandbox));
    };
    meter.addBatchObservableCallback(this.observeGauges, [this.live, this.up]);
  }

  /** Counts one event of the module's stream. */
  count(event: XemsEvent): void {
    if (event.type === 'sidecar.restarted') {
      this.restarts.add(1);
      return;
    }
    if (event.type === 'sessions.revoked-all') {
      // revokeAll(): one event for every session of the sandbox it ended.
      this.revocations.add(event.count, this.attributes.with(event.sandbox, XEMS_ATTRIBUTES.revokeReason, event.reason));
      this.events.add(1, this.attributes.with(event.sandbox, XEMS_ATTRIBUTES.eventType, event.type));
      return;
    }
    if (!('sessionId' in event)) return;
    const sandbox = event.sandbox;
    const type: string = event.type;
    switch (type) {
      case 'session.created':
        this.created.add(1, this.attributes.of(sandbox));
        break;
      case 'session.rotated':
        this.rotations.add(1, this.attributes.of(sandbox));
        break;
      case 'session.reused':
        this.reuseDetected.add(1, this.attributes.of(sandbox));
        break;
      case 'session.revoked':
        this.revocations.add(
          1,
          this.attributes.with(sandbox, XEMS_ATTRIBUTES.revokeReason, String((event as { reason?: unknown }).reason)),
        );
        break;
      case 'session.expired':
        this.expirations.add(1, this.attributes.of(sandbox));
        break;
      case 'binding.mismatch':
        this.bindingMismatches.add(
          1,
          this.attributes.with(sandbox, XEMS_ATTRIBUTES.bindingAction, String((event as { action?: unknown }).action)),
        );
        break;
      case DEVICE_REFRESHED:
        this.deviceRefreshes.add(1, this.attributes.of(sandbox));
        break;
    }
    this.events.add(1, this.attributes.with(sandbox, XEMS_ATTRIBUTES.eventType, type));
  }

  /** Stops the gauges' callback (the module is shutting down; the meter may live on). */
  close(): void {
    this.meter.removeBatchObservableCallback(this.observeGauges, [this.live, this.up]);
  }
}
