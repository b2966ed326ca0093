export { XemsModule } from './xems.module';
export type { XemsModuleAsyncOptions, XemsModuleExtras, XemsModuleForRootOptions, XemsOptionsFactory } from './xems.module-definition';
export { XEMS_DEFAULT_HEADER, XEMS_MODULE_OPTIONS, XEMS_SANDBOX_METADATA } from './xems.constants';
export type {
  ResolvedCookieOptions,
  ResolvedXemsOptions,
  XemsCookieOptions,
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
  XemsSidecarError,
  XemsTimeoutError,
  XemsUnavailableError,
  XemsValidationError,
} from './xems.errors';
export { XemsService } from './xems.service';
export type {
  XemsCreateSessionOptions,
  XemsLinkOptions,
  XemsResolveOptions,
  XemsResolvedSession,
  XemsSessionInfo,
  XemsStore,
} from './xems.service';
export { SessionGuard } from './session.guard';
export type { XemsRotationPolicy, XemsUnauthorizedReason } from './session.guard';
export { Session, XemsSession } from './session.decorator';
export { XemsSandbox } from './xems-sandbox.decorator';
export { TokenRotationInterceptor } from './token-rotation.interceptor';
export type { XemsActiveSession, XemsPresentedToken, XemsTokenVia } from './token-transport';
export type { XemsEvent, XemsSessionEvent } from './xems.events';
export type { SidecarEvent } from './sidecar/sidecar-process';
