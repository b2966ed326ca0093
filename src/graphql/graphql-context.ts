import type { ExecutionContext } from '@nestjs/common';
import type { XemsHttpRequest, XemsHttpResponse } from '../platform/http-platform';
import { XemsGraphqlContextError } from '../xems.errors';
import { withoutStackFrames } from './graphql-errors';

/** The line to add to GraphQLModule.forRoot so that resolvers see the HTTP request and response. */
export const GRAPHQL_CONTEXT_LINE = 'context: ({ req, res }) => ({ req, res }),';

/** The HTTP request and response a GraphQL operation came with, as the platform gave them. */
export interface GraphqlHttp {
  /** Express's request (Apollo), or Fastify's FastifyRequest (Mercurius). */
  req: XemsHttpRequest;
  /** Express's response (Apollo), or Fastify's FastifyReply (Mercurius). */
  res: XemsHttpResponse;
}

type GraphqlContextObject = Record<string, unknown>;

/** True for a resolver (Nest's context type 'graphql', set by @nestjs/graphql). */
export function isGraphqlContext(context: ExecutionContext): boolean {
  return context.getType<string>() === 'graphql';
}

/**
 * The GraphQL context object of a resolver call. A resolver's arguments are
 * (root, args, context, info); reading the third ourselves keeps @nestjs/graphql an optional
 * peer dependency (GqlExecutionContext would need it at load time).
 */
function contextObject(context: ExecutionContext): GraphqlContextObject | undefined {
  const value: unknown = context.getArgs()[2];
  return value !== null && typeof value === 'object' ? (value as GraphqlContextObject) : undefined;
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * The request and response of a resolver call, or what is missing. Mercurius (Fastify) always
 * puts the reply (which knows its request) in the context; Apollo puts `req` there, and `res`
 * only when the app's `context` function returns it.
 */
function lookup(context: ExecutionContext): Partial<GraphqlHttp> {
  const ctx = contextObject(context);
  if (!ctx) return {};
  const reply = ctx.reply as { request?: unknown } | undefined;
  if (isObject(reply) && isObject(reply.request)) {
    return { req: reply.request as XemsHttpRequest, res: reply as XemsHttpResponse };
  }
  return {
    req: isObject(ctx.req) ? (ctx.req as XemsHttpRequest) : undefined,
    res: isObject(ctx.res) ? (ctx.res as XemsHttpResponse) : undefined,
  };
}

/** The request and response of a resolver call, when the GraphQL context carries both (else undefined, never a throw). */
export function peekGraphqlHttp(context: ExecutionContext): GraphqlHttp | undefined {
  const { req, res } = lookup(context);
  return req && res ? { req, res } : undefined;
}

/** The HTTP request of a resolver call; a clear XemsGraphqlContextError when the GraphQL context lacks it. */
export function graphqlRequest(context: ExecutionContext): XemsHttpRequest {
  const { req } = lookup(context);
  if (!req) throw missing('req', 'the HTTP request, which holds the session token');
  return req;
}

/** The HTTP response of a resolver call; a clear XemsGraphqlContextError when the GraphQL context lacks it. */
export function graphqlResponse(context: ExecutionContext): XemsHttpResponse {
  const { res } = lookup(context);
  if (!res) throw missing('res', 'the HTTP response, which carries the rotated token back');
  return res;
}

/**
 * The operation a resolver belongs to ('query', 'mutation', 'subscription'), from the
 * GraphQLResolveInfo (the fourth argument); undefined when it is not there.
 */
export function graphqlOperation(context: ExecutionContext): string | undefined {
  const info: unknown = context.getArgs()[3];
  const operation = isObject(info) ? (info as { operation?: { operation?: unknown } }).operation?.operation : undefined;
  return typeof operation === 'string' ? operation : undefined;
}

/** The error for a context without `property`: its message is the fix; its stack is not sent (it is the library's frames). */
function missing(property: 'req' | 'res', what: string): XemsGraphqlContextError {
  const error = new XemsGraphqlContextError(
    `The GraphQL context has no "${property}" (${what}): add "${GRAPHQL_CONTEXT_LINE}" to GraphQLModule.forRoot({ ... })`,
    `Add the line ${GRAPHQL_CONTEXT_LINE} to the options of GraphQLModule.forRoot (Apollo). With a context function of your own, return req and res from it as well.`,
  );
  return withoutStackFrames(error);
}
