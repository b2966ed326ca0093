import { MODULE_OPTIONS_TOKEN } from './xems.module-definition';

/** Injection token of the options object given to XemsModule.forRoot / forRootAsync (as given, before defaults). */
export const XEMS_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;

/** Metadata key written by @XemsSandbox() on a handler or controller. */
export const XEMS_SANDBOX_METADATA = 'xems:sandbox';

/** Response header a mobile or server client reads its token from (when the header transport is on): see options.header. */
export const XEMS_DEFAULT_HEADER = 'x-xems-token';

/** Metadata key written by @RequireFreshAuth() on a handler or controller. */
export const XEMS_FRESH_AUTH_METADATA = 'xems:fresh-auth';
