/** Injection token of the options object given to XemsModule.forRoot / forRootAsync (as given, before defaults). */
export declare const XEMS_MODULE_OPTIONS: string | symbol;
/** Metadata key written by @XemsSandbox() on a handler or controller. */
export declare const XEMS_SANDBOX_METADATA = "xems:sandbox";
/** Response header a mobile or server client reads its token from (when the header transport is on): see options.header. */
export declare const XEMS_DEFAULT_HEADER = "x-xems-token";
