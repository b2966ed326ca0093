import { type IncomingMessage, ServerResponse } from 'node:http';
import { notAResponse } from './platform-errors';
import { type HttpPlatform, type XemsClientInfo, type XemsHttpRequest, type XemsHttpResponse, userAgentOf } from './http-platform';

/**
 * The client of an Express request, for the binding check and the device list: `req.ip` (which
 * honours the app's 'trust proxy' setting), else the socket's peer; and the User-Agent header.
 */
export function requestClient(req: IncomingMessage): XemsClientInfo {
  const ip = (req as { ip?: unknown }).ip;
  return {
    ip: typeof ip === 'string' ? ip : (req.socket?.remoteAddress ?? ''),
    userAgent: userAgentOf(req.headers),
  };
}

/**
 * The client of an upgrade request to an Express app (`app`: the Express instance): its
 * address read by Express's own `req.ip` getter, so the app's 'trust proxy' setting counts
 * as it does for the app's HTTP requests. Express gives each request the prototype
 * `app.request` (which knows the app); an upgrade request never got it, so the getter runs
 * on a view of it with that prototype. Anything else (no Express app): the socket's peer.
 */
export function expressUpgradeClient(req: IncomingMessage, app: unknown): XemsClientInfo {
  const proto = (app as { request?: unknown } | null | undefined)?.request;
  if (typeof proto !== 'object' || proto === null) return requestClient(req);
  const view = Object.create(proto, {
    headers: { value: req.headers },
    socket: { value: req.socket },
    connection: { value: req.socket },
  }) as IncomingMessage;
  try {
    return requestClient(view);
  } catch {
    return requestClient(req); // not Express's getter after all
  }
}

/** Express (`@nestjs/platform-express`): the request and response are Node's own, extended. */
export const EXPRESS_PLATFORM: HttpPlatform = {
  name: 'express',

  nodeResponse(res: XemsHttpResponse, method: string): ServerResponse {
    if (res instanceof ServerResponse) return res;
    throw notAResponse('Express', method, '@Res({ passthrough: true }) res: Response');
  },

  client: (req: XemsHttpRequest) => requestClient(req as IncomingMessage),

  upgradeClient: expressUpgradeClient,

  body: (req: XemsHttpRequest) => (req as { body?: unknown }).body,
};
