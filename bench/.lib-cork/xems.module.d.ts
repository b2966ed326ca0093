import { XemsConfigurableModuleClass } from './xems.module-definition';
/**
 * Secure server-side sessions and short-lived secrets kept encrypted by a supervised Go
 * sidecar. `XemsModule.forRoot({...})` or `XemsModule.forRootAsync({ useFactory, inject })`,
 * both accepting `isGlobal`.
 */
export declare class XemsModule extends XemsConfigurableModuleClass {
}
