import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { XemsModuleOptions } from './xems.options';

/** Extra options of forRoot / forRootAsync besides the module options. */
export interface XemsModuleExtras {
  /** Register the module globally, so SessionGuard and XemsService work in every module. Default false. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass: XemsConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<XemsModuleOptions>({ moduleName: 'Xems' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createXemsOptions')
  .setExtras<XemsModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? false,
  }))
  .build();

/** What XemsModule.forRoot() accepts: the module options plus isGlobal. */
export type XemsModuleForRootOptions = typeof OPTIONS_TYPE;
/** What XemsModule.forRootAsync() accepts: imports, inject, useFactory | useClass | useExisting, isGlobal. */
export type XemsModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** A class for forRootAsync({ useClass }) / ({ useExisting }). */
export interface XemsOptionsFactory {
  createXemsOptions(): XemsModuleOptions | Promise<XemsModuleOptions>;
}
