export { XemsModule } from './xems.module';
export type { XemsModuleAsyncOptions, XemsModuleExtras, XemsModuleForRootOptions, XemsOptionsFactory } from './xems.module-definition';
export { XEMS_DEFAULT_HEADER, XEMS_MODULE_OPTIONS, XEMS_SANDBOX_METADATA } from './xems.constants';
export type {
  ResolvedCookieOptions,
  ResolvedXemsOptions,
  XemsBindingOptions,
  XemsCookieOptions,
  XemsCsrfOptions,
  XemsDuration,
  XemsModuleOptions,
  XemsPersistenceOptions,
  XemsSidecarOptions,
} from './xems.options';
export { resolveXemsOptions } from './xems.options';
export { XEMS_DEFAULTS } from './xems.defaults';
export { parseDuration } from './duration.util';
export {
  XemsConfigError,
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
} from './xems.errors';
export type { XemsVaultErrorKind } from './xems.errors';
export type { XemsFsyncPolicy } from './persistence/persistence.options';
export type { XemsHardwareBinding } from './persistence/machine-identity';
export { XemsService, requestClient } from './xems.service';
export type {
  XemsClientInfo,
  XemsCreateSessionOptions,
  XemsLinkOptions,
  XemsRegenerateOptions,
  XemsResolveOptions,
  XemsResolvedSession,
  XemsSessionContext,
  XemsSessionInfo,
  XemsStats,
  XemsSandboxStore,
} from './xems.service';
export { SessionGuard } from './session.guard';
export type { XemsRotationPolicy, XemsUnauthorizedReason } from './session.guard';
export { CsrfGuard } from './csrf.guard';
export type { XemsCsrfFailure } from './csrf.guard';
export { XemsHealthCheckError, XemsHealthIndicator } from './xems.health';
export { XemsStore, createStandaloneXems, type XemsStoreOptions, type XemsStoredSession } from './express-session/xems-store';
export type { XemsHealthResult } from './xems.health';
export type { XemsResponseHelpers } from './express-helpers';
export type { XemsSchema, XemsSchemaOptions } from './typed-data';
export { Session, SessionContext, XemsSession } from './session.decorator';
export type { XemsSessionParam } from './session.decorator';
export { XemsSandbox } from './xems-sandbox.decorator';
export { TokenRotationInterceptor } from './token-rotation.interceptor';
export type { XemsActiveSession, XemsPresentedToken, XemsTokenVia } from './token-transport';
export type { XemsEvent, XemsRevokeReason, XemsSessionEvent } from './xems.events';
export type { SidecarEvent } from './sidecar/sidecar-process';
