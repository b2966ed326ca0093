import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { ExecutionContext } from '@nestjs/common';

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
