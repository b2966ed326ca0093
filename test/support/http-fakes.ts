import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { ExecutionContext } from '@nestjs/common';
import { type ResolvedXemsOptions, resolveXemsOptions } from '../../src/xems.resolved-options';
import { RequestSessions, type XemsRequestState } from '../../src/request-session';
import { SessionLedger } from '../../src/session-ledger';
import type { XemsResolvedSession } from '../../src/session.types';
import { TokenTransport } from '../../src/token-transport';
import type { XemsSessions } from '../../src/xems.sessions';
import { HttpPlatformHost } from '../../src/platform/platform-host';

/** A real IncomingMessage/ServerResponse pair (no network): on-headers and setHeader behave as in production. */
export function fakeHttp(headers: Record<string, string | string[]> = {}): { req: IncomingMessage; res: ServerResponse } {
  const socket = new Socket();
  const req = new IncomingMessage(socket);
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  req.method = 'GET';
  req.url = '/';
  const res = new ServerResponse(req);
  return { req, res };
}

/** Makes the response compute its headers (what on-headers hooks), without a socket. */
export function flushHeaders(res: ServerResponse, status = 200): void {
  res.writeHead(status);
}

export function setCookies(res: ServerResponse): string[] {
  const v = res.getHeader('set-cookie');
  return v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
}

/** A minimal ExecutionContext for an HTTP handler. */
export function httpContext(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (...args: unknown[]) => unknown = function handler() {},
  cls: new (...args: unknown[]) => unknown = class Controller {},
  type = 'http',
): ExecutionContext {
  return {
    getType: () => type,
    getClass: () => cls,
    getHandler: () => handler,
    getArgs: () => [req, res],
    getArgByIndex: (i: number) => [req, res][i],
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => undefined }),
    switchToRpc: () => {
      throw new Error('not rpc');
    },
    switchToWs: () => {
      throw new Error('not ws');
    },
  } as unknown as ExecutionContext;
}

/** A resolved session with test values (override what a test looks at). */
export function fakeSession(fields: Partial<XemsResolvedSession> = {}): XemsResolvedSession {
  return { sandbox: 's', id: 'i', token: 't', data: {}, expiresAt: 0, rotated: false, rememberMe: false, sliding: false, ...fields };
}

/** A request's state as RequestSessions keeps it, for the token transport's unit tests. */
export function requestState(fields: Partial<XemsRequestState> = {}): XemsRequestState {
  return { issued: false, cleared: false, hooked: false, attachedAt: 0, vouched: false, ...fields };
}

/** RequestSessions over a real token transport and ledger, without a sidecar (refreshIfLate is not for these). */
export function fakeRequestSessions(options: ResolvedXemsOptions = resolveXemsOptions({}), ledger = new SessionLedger()): RequestSessions {
  return new RequestSessions(options, new TokenTransport(options), ledger, {} as XemsSessions, new HttpPlatformHost());
}

/** A token of the sidecar's layout (sid(16) || generation(u32 BE) || secret(32), base64url): `sid` and `secret` fill their bytes. */
export function tokenOf(generation: number, sid = 1, secret = 2): string {
  const raw = Buffer.alloc(52, secret);
  raw.fill(sid, 0, 16);
  raw.writeUInt32BE(generation, 16);
  return raw.toString('base64url');
}
