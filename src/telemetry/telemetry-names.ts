// The names of the module's instruments and attributes, in a file of their own: the public
// index exports them, and nothing here may import @opentelemetry/api (an optional peer).

/** The meter every instrument is made on. */
export const XEMS_METER_NAME = 'nestjs-xems';

/** Instrument names (the table in docs/observability.md). */
export const XEMS_METRICS = {
  created: 'xems.session.created',
  rotations: 'xems.session.rotations',
  reuseDetected: 'xems.session.reuse_detected',
  revocations: 'xems.session.revocations',
  bindingMismatches: 'xems.session.binding_mismatches',
  expirations: 'xems.session.expirations',
  deviceRefreshes: 'xems.session.device_refreshes',
  events: 'xems.session.events',
  live: 'xems.session.live',
  sidecarUp: 'xems.sidecar.up',
  sidecarRestarts: 'xems.sidecar.restarts',
  callDuration: 'rpc.client.call.duration',
} as const;

/** Attribute keys of the xems instruments (no semantic convention covers them). */
export const XEMS_ATTRIBUTES = {
  sandbox: 'xems.sandbox',
  revokeReason: 'xems.revoke.reason',
  bindingAction: 'xems.binding.action',
  eventType: 'xems.event.type',
} as const;
