import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { parse as parseCookie, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import onHeaders from 'on-headers';
import type { ResolvedCookieOptions } from './options/cookie.options';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { LATE_RESPONSE_MS, type LedgerEntry } from './session-ledger';
import type { XemsResolvedSession } from './session.types';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { isTokenShaped } from './token-shape';

/** How a token travels: the cookie (browsers) or the header (mobile and server clients). */
export type XemsTokenVia = 'cookie' | 'header';

/** The token a request presented, and how. */
export interface XemsPresentedToken {
  token: string;
  via: XemsTokenVia;
}

/** The result of reading a request: a token, nothing, or a malformed carrier. */
export type XemsTokenLookup =
  { kind: 'token'; token: string; via: XemsTokenVia } | { kind: 'none' } | { kind: 'malformed'; via: XemsTokenVia; reason: string };

/** What the response hook reads of a request's state (RequestSessions keeps it: XemsRequestState). */
export interface TokenWriteState {
  /** The token the request presented. */
  presented?: XemsPresentedToken;
  session?: XemsResolvedSession;
  /** How the response carries a new token. */
  via?: XemsTokenVia;
  /** The token was issued in this request (link, regenerate): the client holds no newer one. */
  issued: boolean;
  /** The response clears the cookie and carries no token header (unlink). */
  cleared: boolean;
  /** The module vouched, right before writing the response, that the token is current. */
  vouched: boolean;
  /** The session's place in the ledger: its newest token known here. */
  entry?: LedgerEntry;
}

/** What the transport reads of a request: its headers (Express's request and Fastify's both have them). */
type Request = { readonly headers: IncomingHttpHeaders };
type Response = ServerResponse;

function isDuplicated(rawCookieHeader: string, name: string): boolean {
  // cookie.parse keeps the first of several same-named cookies; a second one (e.g. planted by
  // a sibling subdomain: cookie tossing) makes the request ambiguous, so it is refused.
  // A header that holds the name once cannot hold the cookie twice: the common case ends here.
  if (rawCookieHeader.indexOf(name) === rawCookieHeader.lastIndexOf(name)) return false;
  let count = 0;
  for (const part of rawCookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name && ++count > 1) return true;
  }
  return false;
}

/**
 * How tokens travel: reads the token from a request's headers (cookie first, then header) and
 * writes the token to the Node response under the platform's (HttpPlatform.nodeResponse). Writing happens in an on-headers hook, right before the headers go
 * out, so every response path carries it: a returned value, a thrown HttpException, a
 * redirect, a streamed file, or a handler using @Res(). The token written is the newest one
 * this process handed out for the session (the ledger), never an older one; with the Redis
 * store a response leaving late without a token vouched for writes none.
 */
@Injectable()
export class TokenTransport {
  /**
   * The attributes of a browser-session token cookie ("; Path=/; HttpOnly; Secure; ..."), as the
   * cookie library writes them, built once: the token is base64url, which needs no encoding,
   * so a rotation only has to put it between the name and these.
   */
  private readonly sessionCookieAttributes: string | undefined;
  private readonly cookie: ResolvedCookieOptions | false;
  private readonly header: string | false;
  private readonly sharedStore: boolean;
  /** The DBSC bound cookie (deviceBound on): cleared with the token cookie, it holds nothing once the session ended. */
  private readonly boundCookieName: string | undefined;

  constructor(@Inject(XEMS_RESOLVED_OPTIONS) options: Pick<ResolvedXemsOptions, 'cookie' | 'header' | 'store' | 'deviceBound'>) {
    this.cookie = options.cookie;
    this.header = options.header;
    this.sharedStore = options.store.type === 'redis';
    this.boundCookieName = options.deviceBound && options.cookie ? options.deviceBound.cookieName : undefined;
    if (this.cookie) {
      const sample = serializeCookie(this.cookie.name, 'x', this.cookieAttributes(this.cookie));
      this.sessionCookieAttributes = sample.slice(this.cookie.name.length + 2);
    }
  }

  /** Reads the token the request carries. Never throws: malformed input is reported, not thrown. */
  read(req: Request): XemsTokenLookup {
    const cookie = this.cookie;
    const raw = req.headers.cookie;
    if (cookie && typeof raw === 'string' && raw.includes(cookie.name)) {
      const value = parseCookie(raw)[cookie.name];
      if (value !== undefined) {
        if (isDuplicated(raw, cookie.name)) return { kind: 'malformed', via: 'cookie', reason: 'duplicated cookie' };
        if (!isTokenShaped(value)) return { kind: 'malformed', via: 'cookie', reason: 'malformed cookie' };
        return { kind: 'token', token: value, via: 'cookie' };
      }
    }
    const header = this.header;
    if (header) {
      const value = req.headers[header];
      if (Array.isArray(value)) return { kind: 'malformed', via: 'header', reason: 'duplicated header' };
      if (typeof value === 'string' && value.trim() !== '') {
        const token = value.trim();
        if (!isTokenShaped(token)) return { kind: 'malformed', via: 'header', reason: 'malformed header' };
        return { kind: 'token', token, via: 'header' };
      }
    }
    return { kind: 'none' };
  }

  /**
   * How a response to this request should carry a new token: the way the request spoke.
   * A client without a token yet (a login) asks for the header by sending it empty.
   */
  replyVia(req: Request, presented: XemsPresentedToken | undefined): XemsTokenVia {
    if (presented) return presented.via;
    if (this.header && req.headers[this.header] !== undefined) return 'header';
    return this.cookie ? 'cookie' : 'header';
  }

  /**
   * Installs the response hook on the Node response (once per request: RequestSessions arms
   * each response once); a request that presented no token gets its answer the way it asked
   * (replyVia).
   */
  arm(req: Request, res: Response, state: TokenWriteState): void {
    state.via ??= this.replyVia(req, state.presented);
    onHeaders(res, () => this.write(res, state));
  }

  /** Runs right before the headers are written. */
  private write(res: Response, state: TokenWriteState): void {
    if (state.cleared) {
      if (this.cookie) this.setCookie(res, this.clearCookie(this.cookie));
      if (this.boundCookieName)
        this.setCookie(res, this.clearCookie(this.cookie as ResolvedCookieOptions, this.boundCookieName), this.boundCookieName);
      if (this.header) res.removeHeader(this.header);
      res.setHeader('Cache-Control', 'no-store');
      return;
    }
    const entry = state.entry;
    const session = entry ? entry.newest : state.session;
    if (!session) return; // none, or ended here (logout, revoke, regenerate elsewhere): no token
    // Redis store: a token learned too long ago may have been rotated by another instance since;
    // unless the module vouched for it right before writing (or issued it here), write none.
    if (this.sharedStore && !state.issued && !state.vouched && entry && performance.now() - entry.learnedAt > LATE_RESPONSE_MS) return;
    const via = state.via;
    const unchanged = session.token === state.presented?.token;
    // A persistent cookie of a sliding session is sent again with the new Max-Age even when the
    // token did not change, so the browser keeps it as long as the server does.
    const refresh = unchanged && via === 'cookie' && session.rememberMe && session.sliding;
    if (unchanged && !refresh) return;
    if (via === 'cookie' && this.cookie) {
      this.setCookie(res, this.tokenCookie(this.cookie, session.token, session.expiresAt, { persistent: session.rememberMe }));
    } else if (this.header) {
      res.setHeader(this.header, session.token);
    }
    res.setHeader('Cache-Control', 'no-store');
  }

  /**
   * Set-Cookie for a token. A remember-me (persistent) cookie gets Max-Age = the session's
   * remaining lifetime, rounded down, so it never outlives the server-side expiry; otherwise
   * it is a browser-session cookie (no Max-Age, no Expires).
   */
  tokenCookie(cookie: ResolvedCookieOptions, token: string, expiresAt: number, options: { persistent: boolean; now?: number }): string {
    if (!options.persistent && cookie === this.cookie && isTokenShaped(token)) {
      return `${cookie.name}=${token}${this.sessionCookieAttributes}`;
    }
    const maxAge = options.persistent ? Math.max(0, Math.floor((expiresAt - (options.now ?? Date.now())) / 1000)) : undefined;
    return serializeCookie(cookie.name, token, { ...this.cookieAttributes(cookie), maxAge });
  }

  /** The attributes every token cookie carries: HttpOnly always, the rest from the options. */
  private cookieAttributes(cookie: ResolvedCookieOptions): SerializeOptions {
    return { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path, domain: cookie.domain };
  }

  /**
   * Set-Cookie that removes the cookie (or, named, the bound cookie that shares its attributes):
   * same name, path and domain, already expired.
   */
  clearCookie(cookie: ResolvedCookieOptions, name = cookie.name): string {
    return serializeCookie(name, '', { ...this.cookieAttributes(cookie), maxAge: 0, expires: new Date(0) });
  }

  /** Adds our Set-Cookie, replacing an earlier one of the same name, keeping the app's others. */
  private setCookie(res: Response, setCookie: string, name = (this.cookie as ResolvedCookieOptions).name): void {
    const existing = res.getHeader('Set-Cookie');
    if (existing === undefined) {
      res.setHeader('Set-Cookie', setCookie);
      return;
    }
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    const others = list.filter((c) => !c.startsWith(`${name}=`));
    res.setHeader('Set-Cookie', [...others, setCookie]);
  }
}
