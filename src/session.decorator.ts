import { createParamDecorator, ExecutionContext, Logger, UnauthorizedException } from '@nestjs/common';
import { isGraphqlContext } from './graphql/graphql-context';
import { XEMS_GRAPHQL_CODES, inGraphqlForm } from './graphql/graphql-errors';
import { callPartsOf } from './platform/execution-context';
import { describeRequestSession, requestSessionOf } from './request-session';
import type { XemsPeekedSession, XemsSessionContext } from './session.types';
import { describeSocketSession, socketSessionOf } from './websocket/socket-session';
import { XemsSchemaOptions, checkSchema } from './typed-data';

/** What @Session() accepts: nothing (all data), a field name, or a schema to validate the data with. */
export type XemsSessionParam = string | XemsSchemaOptions | undefined;

const logger = new Logger('Xems');

/** Exported for unit tests: what @Session(param) returns for a request. */
export function selectSessionData(param: XemsSessionParam, ctx: ExecutionContext): unknown {
  const session = contextSession(ctx, '@Session()');
  const data = session?.data;
  if (param === undefined) return data;
  if (typeof param === 'object' && param !== null) return typedSessionData(param, session, data, ctx);
  if (data === null || typeof data !== 'object') return undefined;
  return Object.prototype.hasOwnProperty.call(data, param) ? (data as Record<string, unknown>)[param] : undefined;
}

/**
 * The session data validated against a schema, as an instance of it. Data that does not match
 * (written before a schema change, or by other code) refuses the request with 401 and a log
 * line naming the session id and the failing properties, never the data.
 */
function typedSessionData(
  options: XemsSchemaOptions,
  session: XemsPeekedSession | undefined,
  data: unknown,
  ctx: ExecutionContext,
): unknown {
  if (!session) throw unauthorized(ctx);
  const checked = checkSchema(options, data);
  if (checked.ok) return checked.value;
  logger.warn(
    `Session ${session.id} (sandbox ${session.sandbox}) holds data that does not match ${options.schema.name}: ${checked.problems.join('; ')}; request refused (401)`,
  );
  throw unauthorized(ctx);
}

/** 401, in GraphQL form in a resolver. */
function unauthorized(ctx: ExecutionContext): UnauthorizedException {
  const error = new UnauthorizedException();
  return isGraphqlContext(ctx) ? inGraphqlForm(error, XEMS_GRAPHQL_CODES.unauthenticated) : error;
}

/**
 * Injects the session data resolved by SessionGuard: `@Session() session`, one field
 * (`@Session('email') email`), or the data validated against a class-validator schema
 * (`@Session({ schema: UserSessionDto }) session: UserSessionDto`: an instance of the class;
 * invalid data answers 401 and is logged). Import it from 'nestjs-xems': Nest's own `Session`
 * from '@nestjs/common' returns express-session's req.session, not this. Also exported as
 * XemsSession to avoid the clash.
 */
export const Session = createParamDecorator<XemsSessionParam>(selectSessionData);

/** Alias of Session that cannot be confused with `Session` from '@nestjs/common'. */
export const XemsSession = Session;

/** Exported for unit tests: what @SessionContext() returns for a request. */
export function selectSessionContext(_param: unknown, ctx: ExecutionContext): XemsSessionContext | undefined {
  if (ctx.getType() === 'ws') return describeSocketSession(ctx.switchToWs().getClient<object>());
  return describeRequestSession(callPartsOf(ctx, '@SessionContext()').req);
}

/** The session of the request, or of the socket on a gateway handler (src/websocket/). */
function contextSession(ctx: ExecutionContext, what: string): XemsPeekedSession | undefined {
  if (ctx.getType() === 'ws') return socketSessionOf(ctx.switchToWs().getClient<object>());
  return requestSessionOf(callPartsOf(ctx, what).req);
}

/**
 * Injects the request's session context (no token, no data): its public id, sandbox, expiry,
 * whether this request rotated the token (`rotated`) and whether it is a remember-me session.
 */
export const SessionContext = createParamDecorator<undefined>(selectSessionContext);
