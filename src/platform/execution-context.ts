import type { ExecutionContext } from '@nestjs/common';
import { graphqlRequest, graphqlResponse, peekGraphqlHttp } from '../graphql/graphql-context';
import { XemsUnsupportedContextError } from '../xems.errors';
import type { XemsHttpRequest, XemsHttpResponse } from './http-platform';

/** The request and response of a guarded call. */
export interface XemsCallParts {
  req: XemsHttpRequest;
  res: XemsHttpResponse;
}

/**
 * The one place that maps a Nest execution context to the request and response the module
 * works on: an HTTP handler's, or a GraphQL resolver's (from the GraphQL context:
 * src/graphql/graphql-context.ts; a context without them is an XemsGraphqlContextError naming
 * the GraphQLModule.forRoot line to add). Another context type (a microservice's 'rpc', or one
 * this version does not know) is refused with XemsUnsupportedContextError, never passed
 * silently. A transport added later (WebSockets) adds its case here.
 *
 * `what` names the caller in the error (e.g. 'SessionGuard').
 */
export function callPartsOf(context: ExecutionContext, what: string): XemsCallParts {
  const type = context.getType<string>();
  switch (type) {
    case 'http':
      // An HTTP handler's arguments are (request, response, next); read by index, because
      // switchToHttp() allocates three closures on every call.
      return { req: context.getArgByIndex<XemsHttpRequest>(0), res: context.getArgByIndex<XemsHttpResponse>(1) };
    case 'graphql':
      return { req: graphqlRequest(context), res: graphqlResponse(context) };
    default:
      throw new XemsUnsupportedContextError(type, what);
  }
}

/**
 * Like callPartsOf, but undefined for a context the module does not handle, or a resolver whose
 * GraphQL context lacks the request or response (the app-wide interceptor lets those pass).
 */
export function callPartsIfSupported(context: ExecutionContext): XemsCallParts | undefined {
  const type = context.getType<string>();
  if (type === 'graphql') return peekGraphqlHttp(context);
  return type === 'http' ? callPartsOf(context, 'SidecarOutageInterceptor') : undefined;
}
