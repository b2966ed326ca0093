import type { ExecutionContext } from '@nestjs/common';
import type { XemsHttpRequest, XemsHttpResponse } from '../platform/http-platform';
import { XemsGraphqlContextError } from '../xems.errors';
import { withoutStackFrames } from './graphql-errors';

/** The line to add to GraphQLModule.forRoot so that resolvers see the HTTP request and response (Apollo on Express). */
export const GRAPHQL_CONTEXT_LINE = 'context: ({ req, res }) => ({ req, res }),';

/** The same for Apollo on Fastify, whose context function gets (request, reply). Mercurius always has the reply. */
export const GRAPHQL_FASTIFY_CONTEXT_LINE = 'context: (req, reply) => ({ req, reply }),';

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
  if (!req) throw missing(context, 'req', 'the HTTP request, which holds the session token', GRAPHQL_CONTEXT_LINE);
  return req;
}

/** The HTTP response of a resolver call; a clear XemsGraphqlContextError when the GraphQL context lacks it. */
export function graphqlResponse(context: ExecutionContext): XemsHttpResponse {
  const { req, res } = lookup(context);
  if (!res) {
    // A FastifyRequest wraps the Node request in `raw`: Apollo on Fastify, whose context function differs.
    const line = isObject(req) && isObject((req as { raw?: unknown }).raw) ? GRAPHQL_FASTIFY_CONTEXT_LINE : GRAPHQL_CONTEXT_LINE;
    throw missing(context, 'res', 'the HTTP response, which carries the rotated token back', line);
  }
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

/**
 * The error for a context without `property`: its message is the fix; its stack is not sent
 * (it is the library's frames). A subscription (over WebSockets) has no HTTP response at all.
 */
function missing(context: ExecutionContext, property: 'req' | 'res', what: string, line: string): XemsGraphqlContextError {
  const error =
    graphqlOperation(context) === 'subscription'
      ? new XemsGraphqlContextError(
          `A GraphQL subscription has no HTTP ${property === 'req' ? 'request' : 'response'}: SessionGuard, CsrfGuard and @Session() serve queries and mutations`,
          'Authenticate the subscription connection yourself (XemsService.resolveSession with the token the client sends in its connection parameters).',
        )
      : new XemsGraphqlContextError(
          `The GraphQL context has no "${property}" (${what}): add "${line}" to GraphQLModule.forRoot({ ... })`,
          `Add the line ${line} to the options of GraphQLModule.forRoot (Apollo). With a context function of your own, return those from it as well.`,
        );
  return withoutStackFrames(error);
}
