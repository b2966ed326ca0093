import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ResolvedCookieOptions } from './options/cookie.options';
import type { XemsHttpRequest } from './platform/http-platform';

/**
 * Host names browsers treat as a secure context over plain HTTP, where they keep a `Secure`
 * cookie: localhost (and its subdomains) and the loopback addresses.
 */
const LOOPBACK_HOST = /^(localhost|[^:]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The host name of a Host header (port dropped), or '' when it has none. */
export function hostName(host: string | undefined): string {
  if (typeof host !== 'string') return '';
  const trimmed = host.trim();
  if (trimmed.startsWith('[')) return trimmed.slice(0, trimmed.indexOf(']') + 1);
  const colon = trimmed.indexOf(':');
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}

/** A proxy in front said the client spoke HTTPS (X-Forwarded-Proto, or Forwarded: proto=https). */
function forwardedHttps(headers: IncomingHttpHeaders): boolean {
  const xfp = headers['x-forwarded-proto'];
  if (typeof xfp === 'string' && /^\s*https\s*(,|$)/i.test(xfp)) return true;
  const fwd = headers.forwarded;
  return typeof fwd === 'string' && /(^|[;,\s])proto="?https"?/i.test(fwd);
}

/**
 * The host a browser would refuse our `Secure` cookie for: the request came over plain HTTP
 * (no TLS on the socket, no proxy saying the client used HTTPS) to a host that is not
 * loopback. Undefined when the cookie will be kept.
 */
export function plainHttpHost(req: XemsHttpRequest): string | undefined {
  const node = ('raw' in req ? req.raw : req) as IncomingMessage;
  if ((node.socket as { encrypted?: boolean } | undefined)?.encrypted === true) return undefined;
  if (forwardedHttps(req.headers)) return undefined;
  const host = hostName(req.headers.host);
  if (host === '' || LOOPBACK_HOST.test(host)) return undefined;
  return host;
}

/**
 * Warns once per process when a login sends the `Secure` session cookie over plain HTTP to a
 * host that is not loopback. Browsers drop such a cookie without a word, so the login answers
 * 200 and the user's next request has no session (401): the warning names the cause.
 */
export class SecureCookieWarning {
  private warned = false;

  constructor(
    private readonly cookie: ResolvedCookieOptions | false,
    private readonly warn: (message: string) => void,
  ) {}

  /** After link() chose how the token travels (`via`). */
  check(req: XemsHttpRequest, via: 'cookie' | 'header' | undefined): void {
    if (this.warned || !this.cookie || !this.cookie.secure || via !== 'cookie') return;
    const host = plainHttpHost(req);
    if (host === undefined) return;
    this.warned = true;
    // The host comes from the request: only its host-name characters reach the log.
    const shown = host.replace(/[^A-Za-z0-9.:[\]-]/g, '?').slice(0, 100);
    this.warn(
      `The session cookie "${this.cookie.name}" is Secure (cookie.secure, the default), but a login came over plain HTTP ` +
        `to host "${shown}": browsers keep Secure cookies only over HTTPS (and on http://localhost or 127.0.0.1), ` +
        'so that client will send no session and get 401. Serve the app over HTTPS (behind a proxy that ends TLS, ' +
        'have it send X-Forwarded-Proto: https), use http://localhost for local development, or set ' +
        'cookie: { secure: false } on a trusted network only. (Warned once.)',
    );
  }
}
