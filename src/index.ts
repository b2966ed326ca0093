export { XemsModule } from './xems.module';
export type { XemsModuleAsyncOptions, XemsModuleExtras, XemsModuleForRootOptions, XemsOptionsFactory } from './xems.module-definition';
export { XEMS_DEFAULT_HEADER, XEMS_MODULE_OPTIONS, XEMS_SANDBOX_METADATA } from './xems.constants';
export { XemsModuleOptions } from './xems.options';
export { XemsCookieOptions, type ResolvedCookieOptions } from './options/cookie.options';
export { XemsBindingOptions } from './options/binding.options';
export { XemsDeviceBoundOptions, type XemsDeviceAlgorithm } from './options/device-bound.options';
export { RequireDeviceBound, XEMS_REQUIRE_DEVICE_BOUND } from './device-bound/require-device-bound.decorator';
export { DbscEndpoints } from './device-bound/dbsc.endpoints';
export { DeviceSessions } from './device-bound/device-sessions';
export { XemsCsrfOptions } from './options/csrf.options';
export { XemsSidecarOptions } from './options/sidecar.options';
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
  XemsValidationError,
  XemsVaultError,
  isSidecarUnavailable,
  serviceUnavailable,
} from './xems.errors';
export type { XemsDeviceProofCode, XemsVaultErrorKind } from './xems.errors';
export { XemsService } from './xems.service';
export { requestClient, type XemsClientInfo } from './request-client';
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
export { SidecarOutageInterceptor, TokenRotationInterceptor } from './sidecar-outage.interceptor';
export type { XemsPresentedToken, XemsTokenVia } from './token-transport';
export type { XemsEvent, XemsRevokeReason, XemsSessionEvent } from './xems.events';
export type { SidecarEvent } from './sidecar/sidecar-process';
