import { AsyncLocalStorage } from 'node:async_hooks';
import type { XemsHttpRequest } from './platform/http-platform';

/**
 * The request being handled, set by SidecarOutageInterceptor around the handler of a request
 * that holds a session, when the `requestContext` option is on (the default), so XemsService
 * methods called without a request (listSessions) know the current session.
 * `requestContext: false` avoids it: on Node 20 the first run() enables promise hooks for the
 * whole process, a cost every promise then pays.
 */
export const xemsRequestContext = new AsyncLocalStorage<XemsHttpRequest>();
