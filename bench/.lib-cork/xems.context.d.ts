import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
/**
 * The request being handled, set by TokenRotationInterceptor around the route handler, so
 * XemsService methods called without a request (listSessions) know the current session.
 */
export declare const xemsRequestContext: AsyncLocalStorage<IncomingMessage>;
