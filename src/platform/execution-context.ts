import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import { graphqlRequest, graphqlResponse, isGraphqlContext } from '../graphql/graphql-context';

/**
 * The HTTP request behind an execution context: a controller's (Nest's 'http' context) or a
 * resolver's (the GraphQL context's request). The one place that switches on the context type
 * for guards, decorators and the interceptor.
 */
export function requestOf(context: ExecutionContext): IncomingMessage {
  if (isGraphqlContext(context)) return graphqlRequest(context);
  return context.switchToHttp().getRequest<IncomingMessage>();
}

/** The HTTP response behind an execution context (see requestOf). */
export function responseOf(context: ExecutionContext): ServerResponse {
  if (isGraphqlContext(context)) return graphqlResponse(context);
  return context.switchToHttp().getResponse<ServerResponse>();
}
