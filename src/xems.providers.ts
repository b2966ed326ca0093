import { Logger, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CsrfGuard } from './csrf.guard';
import { DbscEndpoints } from './device-bound/dbsc.endpoints';
import { DbscMount } from './device-bound/dbsc.mount';
import { DeviceSessions } from './device-bound/device-sessions';
import { type ResolvedXemsOptions, resolveXemsOptions } from './xems.resolved-options';
import type { XemsModuleOptions } from './xems.options';
import { HttpPlatformHost } from './platform/platform-host';
import { RequestSessions } from './request-session';
import { SessionLedger } from './session-ledger';
import { SessionGuard } from './session.guard';
import { SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess } from './sidecar/sidecar-process';
import { SidecarOutageInterceptor } from './sidecar-outage.interceptor';
import { TokenTransport } from './token-transport';
import { XemsTelemetry } from './telemetry/xems-telemetry';
import { XemsEvents } from './xems.events';
import { XemsHealthIndicator } from './xems.health';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { MODULE_OPTIONS_TOKEN } from './xems.module-definition';
import { XemsService } from './xems.service';
import { XemsSessions } from './xems.sessions';
import { XemsSockets } from './websocket/xems-sockets';

/** The options validated once, at start-up, with every default applied (nothing given: the defaults). */
export function resolveModuleOptions(options: XemsModuleOptions | undefined): ResolvedXemsOptions {
  const logger = new Logger('Xems');
  return resolveXemsOptions(options, { warn: (message) => logger.warn(message) });
}

/** The supervised sidecar child for these options; its events go to the module's event stream. */
export function createSidecarProcess(options: ResolvedXemsOptions, events: XemsEvents): SidecarProcess {
  const { sidecar, persistence, store } = options;
  return new SidecarProcess(
    {
      binaryPath: sidecar.binaryPath,
      startTimeoutMs: sidecar.startTimeout,
      requestTimeoutMs: sidecar.requestTimeout,
      shutdownTimeoutMs: sidecar.shutdownTimeout,
      maxInFlight: sidecar.maxInFlight,
      maxRestarts: sidecar.maxRestarts,
      logLevel: 'info',
      onExpired: (sandbox, ids) => events.expired(sandbox, ids),
      onEnded: (sandbox, reason, ids) => events.endedElsewhere(sandbox, reason, ids),
      persistence: persistence.enabled ? persistence : undefined,
      store: store.type === 'redis' ? store : undefined,
    },
    new Logger('Xems'),
    new Logger('XemsSidecar'),
    (event) => events.emit(event),
  );
}

/**
 * Every provider of XemsModule: the options, the sidecar process and the API over it
 * (instrumented when OpenTelemetry is on: src/telemetry/), the token transport, the ledger, the
 * request's session, the session operations, the public service, the guards, the WebSocket
 * sessions, the health indicator and the app-wide interceptor. Each part gets what it
 * uses injected (the options by their token, the rest by class).
 */
export const XEMS_PROVIDERS: Provider[] = [
  { provide: XEMS_RESOLVED_OPTIONS, inject: [MODULE_OPTIONS_TOKEN], useFactory: resolveModuleOptions },
  XemsEvents,
  { provide: SidecarProcess, inject: [XEMS_RESOLVED_OPTIONS, XemsEvents], useFactory: createSidecarProcess },
  {
    provide: XemsTelemetry,
    inject: [XEMS_RESOLVED_OPTIONS, XemsEvents, SidecarProcess],
    useFactory: (options: ResolvedXemsOptions, events: XemsEvents, sidecar: SidecarProcess) => new XemsTelemetry(options, events, sidecar),
  },
  { provide: SidecarApi, inject: [XemsTelemetry], useFactory: (telemetry: XemsTelemetry) => telemetry.sidecarApi() },
  HttpPlatformHost,
  TokenTransport,
  SessionLedger,
  XemsSessions,
  RequestSessions,
  DeviceSessions,
  DbscEndpoints,
  DbscMount,
  XemsService,
  SessionGuard,
  CsrfGuard,
  XemsSockets,
  XemsHealthIndicator,
  SidecarOutageInterceptor,
  { provide: APP_INTERCEPTOR, useExisting: SidecarOutageInterceptor },
];

/**
 * The same parts wired by hand, for XemsService outside Nest (createStandaloneXems): keep it
 * in step with XEMS_PROVIDERS above.
 */
export function createStandaloneService(options: ResolvedXemsOptions): XemsService {
  const events = new XemsEvents();
  const sidecar = createSidecarProcess(options, events);
  // Its subscription ends when the service completes the event stream at shutdown.
  const api = new XemsTelemetry(options, events, sidecar).sidecarApi();
  const ledger = new SessionLedger();
  const transport = new TokenTransport(options);
  const sessions = new XemsSessions(options, api, events, ledger);
  const platforms = new HttpPlatformHost(); // no Nest app: plain Node requests
  const requestSessions = new RequestSessions(options, transport, ledger, sessions, platforms);
  return new XemsService(
    options,
    events,
    sidecar,
    api,
    sessions,
    requestSessions,
    transport,
    platforms,
    new DeviceSessions(options, api, events),
  );
}
