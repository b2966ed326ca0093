import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { XEMS_REQUEST_STATE } from './xems.internal-constants';
import type { XemsRequestState } from './token-transport';

/** The session data of a request (set by SessionGuard or XemsService.link), or undefined. */
export function sessionDataOf(req: IncomingMessage): unknown {
  const state = (req as unknown as Record<symbol, XemsRequestState | undefined>)[XEMS_REQUEST_STATE];
  return state?.session?.data;
}

/** Exported for unit tests: what @Session(field) returns for a request. */
export function selectSessionData(field: string | undefined, ctx: ExecutionContext): unknown {
  const data = sessionDataOf(ctx.switchToHttp().getRequest<IncomingMessage>());
  if (field === undefined) return data;
  if (data === null || typeof data !== 'object') return undefined;
  return Object.prototype.hasOwnProperty.call(data, field) ? (data as Record<string, unknown>)[field] : undefined;
}

/**
 * Injects the session data resolved by SessionGuard: `@Session() session` or one field,
 * `@Session('email') email`. Import it from 'nestjs-xems': Nest's own `Session` from
 * '@nestjs/common' returns express-session's req.session, not this. Also exported as
 * XemsSession to avoid the clash.
 */
export const Session = createParamDecorator<string | undefined>(selectSessionData);

/** Alias of Session that cannot be confused with `Session` from '@nestjs/common'. */
export const XemsSession = Session;
