import { type DynamicModule, Module } from '@nestjs/common';
import { CsrfGuard } from './csrf.guard';
import { RequestSessions } from './request-session';
import { SessionGuard } from './session.guard';
import { SidecarOutageInterceptor } from './sidecar-outage.interceptor';
import { TokenTransport } from './token-transport';
import { XemsHealthIndicator } from './xems.health';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { XemsConfigurableModuleClass, type XemsModuleAsyncOptions, type XemsModuleForRootOptions } from './xems.module-definition';
import { XEMS_PROVIDERS } from './xems.providers';
import { XemsSockets } from './websocket/xems-sockets';
import { XemsService } from './xems.service';
import { XemsSessions } from './xems.sessions';

/**
 * Secure server-side sessions and short-lived secrets kept encrypted by a supervised Go
 * sidecar. `XemsModule.forRoot({...})` or `XemsModule.forRootAsync({ useFactory, inject })`,
 * both accepting `isGlobal`; `forRoot()` alone uses every default.
 */
@Module({
  providers: XEMS_PROVIDERS,
  exports: [
    XemsService,
    SessionGuard,
    CsrfGuard,
    XemsHealthIndicator,
    SidecarOutageInterceptor,
    XEMS_RESOLVED_OPTIONS,
    // For guards and interceptors of the application built like ours (inject what they use).
    XemsSessions,
    RequestSessions,
    TokenTransport,
    XemsSockets,
  ],
})
export class XemsModule extends XemsConfigurableModuleClass {
  /** Without options (or with some), every option not given takes its default. */
  static override forRoot(options: XemsModuleForRootOptions = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Without options, or with a factory that returns undefined, every option takes its default. */
  static override forRootAsync(options: XemsModuleAsyncOptions = {}): DynamicModule {
    const noProvider = options.useFactory === undefined && options.useClass === undefined && options.useExisting === undefined;
    return super.forRootAsync(noProvider ? { ...options, useFactory: () => ({}) } : options);
  }
}
