import type { XemsModuleOptions } from './xems.options';
/** Extra options of forRoot / forRootAsync besides the module options. */
export interface XemsModuleExtras {
    /** Register the module globally, so SessionGuard and XemsService work in every module. Default false. */
    isGlobal?: boolean;
}
export declare const XemsConfigurableModuleClass: import("@nestjs/common").ConfigurableModuleCls<XemsModuleOptions, "forRoot", "createXemsOptions", XemsModuleExtras>, MODULE_OPTIONS_TOKEN: string | symbol, OPTIONS_TYPE: XemsModuleOptions & Partial<XemsModuleExtras>, ASYNC_OPTIONS_TYPE: import("@nestjs/common").ConfigurableModuleAsyncOptions<XemsModuleOptions, "createXemsOptions"> & Partial<XemsModuleExtras>;
/** What XemsModule.forRoot() accepts: the module options plus isGlobal. */
export type XemsModuleForRootOptions = typeof OPTIONS_TYPE;
/** What XemsModule.forRootAsync() accepts: imports, inject, useFactory | useClass | useExisting, isGlobal. */
export type XemsModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
/** A class for forRootAsync({ useClass }) / ({ useExisting }). */
export interface XemsOptionsFactory {
    createXemsOptions(): XemsModuleOptions | Promise<XemsModuleOptions>;
}
