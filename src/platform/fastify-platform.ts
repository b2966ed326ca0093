import { type IncomingMessage, ServerResponse } from 'node:http';
import { XemsUnsupportedPlatformError } from '../xems.errors';
import { notAResponse } from './platform-errors';
import {
  type HttpPlatform,
  type XemsClientInfo,
  type XemsHttpRequest,
  type XemsHttpResponse,
  type XemsWrappedRequest,
  userAgentOf,
} from './http-platform';

/** A FastifyRequest (its Node request in `raw`), or the Node request itself when a caller passed `req.raw`. */
function isWrapped(req: XemsHttpRequest): req is XemsWrappedRequest {
  return typeof (req as Partial<XemsWrappedRequest>).raw === 'object' && (req as Partial<XemsWrappedRequest>).raw !== null;
}

/**
 * Fastify (`@nestjs/platform-fastify`): guards and handlers get `FastifyRequest` and
 * `FastifyReply`, whose Node objects are `req.raw` and `reply.raw` (public API). The token is
 * written on `reply.raw` right before its headers go: Fastify writes every reply (a value, an
 * error, a redirect, a stream, `reply.send` under `@Res()`) through `reply.raw.writeHead`, and a
 * handler that writes `reply.raw` itself goes through it too.
 */
export const FASTIFY_PLATFORM: HttpPlatform = {
  name: 'fastify',

  nodeResponse(res: XemsHttpResponse, method: string): ServerResponse {
    if (res instanceof ServerResponse) return res;
    const raw = (res as { raw?: unknown } | null | undefined)?.raw;
    if (raw instanceof ServerResponse) return raw;
    throw notAResponse('Fastify', method, '@Res({ passthrough: true }) reply: FastifyReply');
  },

  /** `request.ip` honours Fastify's `trustProxy` option (FastifyAdapter({ trustProxy })). */
  client(req: XemsHttpRequest): XemsClientInfo {
    const ip = isWrapped(req) ? req.ip : undefined;
    const node: IncomingMessage = isWrapped(req) ? req.raw : req;
    return {
      ip: typeof ip === 'string' ? ip : (node.socket?.remoteAddress ?? ''),
      userAgent: userAgentOf(req.headers),
    };
  },

  /**
   * An upgrade request bypasses Fastify (the WebSocket servers listen on its Node server), and
   * Fastify keeps its trustProxy function to itself: the socket's peer address.
   */
  upgradeClient(req: IncomingMessage): XemsClientInfo {
    return { ip: req.socket?.remoteAddress ?? '', userAgent: userAgentOf(req.headers) };
  },

  body: (req: XemsHttpRequest) => (isWrapped(req) ? req.body : undefined),

  /** Fastify over HTTP/2 (`http2: true`) answers with Http2ServerResponse, which this module does not write to. */
  checkServer(server: unknown): void {
    const config = (server as { initialConfig?: { http2?: unknown } } | undefined)?.initialConfig;
    if (config?.http2) throw new XemsUnsupportedPlatformError('fastify with http2: true');
  },
};
