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

/** Express (`@nestjs/platform-express`): the request and response are Node's own, extended. */
export const EXPRESS_PLATFORM: HttpPlatform = {
  name: 'express',

  nodeResponse(res: XemsHttpResponse, method: string): ServerResponse {
    if (res instanceof ServerResponse) return res;
    throw notAResponse('Express', method, '@Res({ passthrough: true }) res: Response');
  },

  client: (req: XemsHttpRequest) => requestClient(req as IncomingMessage),

  body: (req: XemsHttpRequest) => (req as { body?: unknown }).body,
};
