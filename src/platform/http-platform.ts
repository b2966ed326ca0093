import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** The HTTP platforms the module supports (`HttpAdapterHost.httpAdapter.getType()`). */
export type XemsPlatformName = 'express' | 'fastify';

/**
 * A request as the platform hands it to guards, interceptors and handlers (`@Req()`): Express's
 * is a Node `IncomingMessage`; Fastify's `FastifyRequest` carries the Node one in `raw`. The
 * module keeps a request's session state on this object (the one every part of a request sees).
 */
export type XemsHttpRequest = IncomingMessage | XemsWrappedRequest;

/** A response as the platform hands it (`@Res()`): Express's is a Node `ServerResponse`; Fastify's `FastifyReply` carries it in `raw`. */
export type XemsHttpResponse = ServerResponse | XemsWrappedResponse;

/** What the module reads of a request that wraps the Node one (Fastify's `FastifyRequest`). */
export interface XemsWrappedRequest {
  readonly raw: IncomingMessage;
  readonly headers: IncomingHttpHeaders;
  readonly method?: string;
  readonly ip?: string;
  readonly body?: unknown;
}

/** What the module uses of a response that wraps the Node one (Fastify's `FastifyReply`). */
export interface XemsWrappedResponse {
  readonly raw: ServerResponse;
}

/** The client a request comes from, as the platform reports it (its address honours the platform's trust-proxy setting). */
export interface XemsClientInfo {
  ip: string;
  userAgent: string;
}

/**
 * Everything the module needs of an HTTP platform: one implementation per platform
 * (express-platform.ts, fastify-platform.ts), chosen once at start (HttpPlatformHost), so no
 * other part of the module asks which platform it runs on.
 *
 * Both platforms' requests carry the headers (`req.headers`), where the token transport reads
 * the cookie and the token header. Token writing is the same for every platform once it has
 * the Node response: the transport hooks the moment the headers go out (on-headers), which
 * every response path passes through (a returned value, an exception, a redirect, a stream, a
 * handler writing the response itself).
 */
export interface HttpPlatform {
  readonly name: XemsPlatformName;
  /** The Node response under the platform's (token and Retry-After are written there). Refuses anything else with an XemsError. */
  nodeResponse(res: XemsHttpResponse, method: string): ServerResponse;
  /** The client's address (honouring the platform's trust-proxy setting) and user agent. */
  client(req: XemsHttpRequest): XemsClientInfo;
  /**
   * The client of a WebSocket upgrade request, which never passes the platform's request
   * handling (no `req.ip`): as `client` would report it, honouring the same trust-proxy
   * setting where the platform's instance (`server`) allows it, else the socket's peer.
   */
  upgradeClient(req: IncomingMessage, server: unknown): XemsClientInfo;
  /** The request's parsed body (CsrfGuard's body field), or undefined. */
  body(req: XemsHttpRequest): unknown;
  /** At start: refuses (XemsUnsupportedPlatformError) a set-up of the platform the module cannot serve. */
  checkServer?(server: unknown): void;
}

/** The User-Agent header of a request, or ''. */
export function userAgentOf(headers: IncomingHttpHeaders): string {
  const ua = headers['user-agent'];
  return typeof ua === 'string' ? ua : '';
}
