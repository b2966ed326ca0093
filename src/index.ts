export { XemsModule } from './xems.module';
export type { XemsModuleAsyncOptions, XemsModuleExtras, XemsModuleForRootOptions, XemsOptionsFactory } from './xems.module-definition';
export { XEMS_DEFAULT_HEADER, XEMS_FRESH_AUTH_METADATA, XEMS_MODULE_OPTIONS, XEMS_SANDBOX_METADATA } from './xems.constants';
export { XemsModuleOptions } from './xems.options';
export { XemsCookieOptions, type ResolvedCookieOptions } from './options/cookie.options';
export { XemsBindingOptions } from './options/binding.options';
export { XemsDeviceBoundOptions, type XemsDeviceAlgorithm } from './options/device-bound.options';
export { RequireDeviceBound, XEMS_REQUIRE_DEVICE_BOUND } from './device-bound/require-device-bound.decorator';
export { DbscEndpoints } from './device-bound/dbsc.endpoints';
export { DeviceSessions } from './device-bound/device-sessions';
export { XemsCsrfOptions } from './options/csrf.options';
export { XemsSidecarOptions } from './options/sidecar.options';
export { XemsReauthenticationOptions } from './options/reauthentication.options';
export { XemsPersistenceOptions } from './persistence/persistence.options';
export type { XemsFsyncPolicy } from './persistence/persistence.options';
export type { XemsHardwareBinding } from './persistence/machine-identity';
export type { XemsRedisServerStore, XemsRedisClusterStore } from './store/store.options';
export type { Resolved } from './options/resolved';
export { resolveXemsOptions, type ResolvedXemsOptions } from './xems.resolved-options';
export { XEMS_DEFAULTS, type XemsDefaults } from './xems.option-defaults';
export { parseDuration, type XemsDuration } from './duration.util';
export {
  XemsConfigError,
  XemsDeviceProofError,
  XemsError,
  XemsOverloadedError,
  XemsProtocolError,
  XemsSessionLimitError,
  XemsSidecarChecksumError,
  XemsSidecarError,
  XemsTimeoutError,
  XemsUnavailableError,
  XemsUnsupportedContextError,
  XemsUnsupportedPlatformError,
  XemsValidationError,
  XemsVaultError,
  isSidecarUnavailable,
  serviceUnavailable,
} from './xems.errors';
export type { XemsDeviceProofCode, XemsVaultErrorKind } from './xems.errors';
export { XemsService } from './xems.service';
export { requestClient } from './platform/express-platform';
export type { XemsClientInfo, XemsHttpRequest, XemsHttpResponse, XemsPlatformName } from './platform/http-platform';
export type {
  XemsActiveSession,
  XemsCreateSessionOptions,
  XemsLinkOptions,
  XemsRegenerateOptions,
  XemsResolveOptions,
  XemsResolvedSession,
  XemsSessionContext,
  XemsSessionInfo,
} from './session.types';
export type { XemsStats } from './xems.stats';
export type { XemsSandboxStore } from './sandbox-store';
export { SessionGuard } from './session.guard';
export type { XemsRotationPolicy, XemsUnauthorizedReason } from './session.guard';
export { CsrfGuard } from './csrf.guard';
export type { XemsCsrfFailure } from './csrf.guard';
export { XemsSessions } from './xems.sessions';
export { RequestSessions } from './request-session';
export { TokenTransport } from './token-transport';
export { XemsHealthCheckError, XemsHealthIndicator } from './xems.health';
export { XemsStore, createStandaloneXems, type XemsStoreOptions, type XemsStoredSession } from './express-session/xems-store';
export type { XemsHealthResult } from './xems.health';
export type { XemsResponseHelpers } from './express-helpers';
export type { XemsSchema, XemsSchemaOptions } from './typed-data';
export { Session, SessionContext, XemsSession } from './session.decorator';
export type { XemsSessionParam } from './session.decorator';
export { XemsSandbox } from './xems-sandbox.decorator';
export { RequireFreshAuth, type XemsFreshAuthMetadata } from './require-fresh-auth.decorator';
export { XEMS_AUTH_METHODS, type XemsAuthMethod, type XemsAuthentication } from './auth-methods';
export { ASSURANCE_CEILINGS, type XemsAssuranceLevel } from './auth-freshness';
export { SidecarOutageInterceptor, TokenRotationInterceptor } from './sidecar-outage.interceptor';
export type { XemsPresentedToken, XemsTokenVia } from './token-transport';
export type { XemsEndedReason, XemsEvent, XemsRevokeReason, XemsSessionEvent } from './xems.events';
export type { SidecarEvent } from './sidecar/sidecar-process';
export { XemsTelemetryOptions, type XemsMeterProvider, type XemsTracerProvider } from './options/telemetry.options';
export { XEMS_ATTRIBUTES, XEMS_METER_NAME, XEMS_METRICS } from './telemetry/telemetry-names';
export { XemsGraphqlContextError } from './xems.errors';
export { XEMS_GRAPHQL_CODES, XemsGraphqlFreshAuthRequiredError, XemsGraphqlUnavailableError } from './graphql/graphql-errors';
export { XemsSockets } from './websocket/xems-sockets';
export type { XemsSessionEndReason, XemsSocketAuthOptions, XemsSocketRefusal } from './websocket/xems-sockets';
export { XEMS_SESSION_ENDED_EVENT, XEMS_UNAUTHORIZED_EVENT } from './websocket/socket-platform';
export { socketSessionOf } from './websocket/socket-session';
export type { XemsPeekedSession } from './session.types';
