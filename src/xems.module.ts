import { Logger, Module, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CsrfGuard } from './csrf.guard';
import { SessionGuard } from './session.guard';
import { TokenRotationInterceptor } from './token-rotation.interceptor';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { MODULE_OPTIONS_TOKEN, XemsConfigurableModuleClass } from './xems.module-definition';
import { XemsModuleOptions, resolveXemsOptions } from './xems.options';
import { XemsHealthIndicator } from './xems.health';
import { XemsService } from './xems.service';

/** Validates the options once, at start-up, and applies the defaults. */
const resolvedOptionsProvider: Provider = {
  provide: XEMS_RESOLVED_OPTIONS,
  inject: [MODULE_OPTIONS_TOKEN],
  useFactory: (options: XemsModuleOptions) => {
    const logger = new Logger('Xems');
    return resolveXemsOptions(options, { warn: (message) => logger.warn(message) });
  },
};

/**
 * Secure server-side sessions and short-lived secrets kept encrypted by a supervised Go
 * sidecar. `XemsModule.forRoot({...})` or `XemsModule.forRootAsync({ useFactory, inject })`,
 * both accepting `isGlobal`.
 */
@Module({
  providers: [
    resolvedOptionsProvider,
    XemsService,
    SessionGuard,
    CsrfGuard,
    XemsHealthIndicator,
    TokenRotationInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: TokenRotationInterceptor },
  ],
  exports: [XemsService, SessionGuard, CsrfGuard, XemsHealthIndicator, TokenRotationInterceptor, XEMS_RESOLVED_OPTIONS],
})
export class XemsModule extends XemsConfigurableModuleClass {}
