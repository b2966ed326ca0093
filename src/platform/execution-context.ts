import type { ExecutionContext } from '@nestjs/common';
import { XemsUnsupportedContextError } from '../xems.errors';
import type { XemsHttpRequest, XemsHttpResponse } from './http-platform';

/** The request and response of a guarded call. */
export interface XemsCallParts {
  req: XemsHttpRequest;
  res: XemsHttpResponse;
}

/**
 * The one place that maps a Nest execution context to the request and response the module
 * works on. Only HTTP is supported here; another context type (a microservice's 'rpc', or one
 * this version does not know) is refused with XemsUnsupportedContextError, never passed
 * silently. A transport added later (GraphQL, WebSockets) adds its case here.
 *
 * `what` names the caller in the error (e.g. 'SessionGuard').
 */
export function callPartsOf(context: ExecutionContext, what: string): XemsCallParts {
  const type = context.getType<string>();
  switch (type) {
    case 'http': {
      const http = context.switchToHttp();
      return { req: http.getRequest<XemsHttpRequest>(), res: http.getResponse<XemsHttpResponse>() };
    }
    default:
      throw new XemsUnsupportedContextError(type, what);
  }
}

/** Like callPartsOf, but undefined for a context the module does not handle (the app-wide interceptor lets those pass). */
export function callPartsIfSupported(context: ExecutionContext): XemsCallParts | undefined {
  return context.getType<string>() === 'http' ? callPartsOf(context, 'SidecarOutageInterceptor') : undefined;
}
