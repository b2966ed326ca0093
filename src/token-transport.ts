import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseCookie, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import onHeaders from 'on-headers';
import { TOKEN_PATTERN, XEMS_REQUEST_STATE } from './xems.internal-constants';
import type { ResolvedCookieOptions, ResolvedXemsOptions } from './xems.options';

/** How a token travels: the cookie (browsers) or the header (mobile and server clients). */
export type XemsTokenVia = 'cookie' | 'header';

/** The token a request presented, and how. */
export interface XemsPresentedToken {
  token: string;
  via: XemsTokenVia;
}

/** The result of reading a request: a token, nothing, or a malformed carrier. */
export type XemsTokenLookup =
  | { kind: 'token'; token: string; via: XemsTokenVia }
  | { kind: 'none' }
  | { kind: 'malformed'; via: XemsTokenVia; reason: string };

/** The session the current request works with, as the guard or link() left it. */
export interface XemsActiveSession {
  sandbox: string;
  /** Public, non-secret session id (usable in lists and logs). */
  id: string;
  /** The session's current token: what the client must use next. */
  token: string;
  data: unknown;
  /** Server-side expiry, Unix milliseconds. */
  expiresAt: number;
  /** True when this request rotated the token (only the request that performed the rotation). */
  rotated: boolean;
  /** Remember-me session: the cookie is persistent (Max-Age = remaining lifetime). */
  rememberMe: boolean;
  /** The session has an idle timeout: its expiry slides with each use. */
  sliding: boolean;
  /** The session's CSRF token (see XemsService.csrfToken). */
  csrfToken?: string;
}

/** Per-request state, stored on the request object. */
export interface XemsRequestState {
  presented?: XemsPresentedToken;
  session?: XemsActiveSession;
  /** How the response carries a new token. */
  via?: XemsTokenVia;
  /** unlink() ran: the response clears the cookie and carries no token header. */
  cleared: boolean;
  hooked: boolean;
}

type Request = IncomingMessage;
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
 * Reads the token from a request (cookie first, then header) and writes the current token
 * to the response. Writing happens in an on-headers hook, right before the headers go out,
 * so every response path carries it: a returned value, a thrown HttpException, a redirect,
 * a streamed file, or a handler using @Res().
 */
export class TokenTransport {
  /**
   * The attributes of a browser-session token cookie ("; Path=/; HttpOnly; Secure; ..."), as the
   * cookie library writes them, built once: the token is base64url, which needs no encoding,
   * so a rotation only has to put it between the name and these.
   */
  private readonly sessionCookieAttributes: string | undefined;

  constructor(private readonly options: Pick<ResolvedXemsOptions, 'cookie' | 'header'>) {
    const cookie = options.cookie;
    if (cookie) {
      const sample = serializeCookie(cookie.name, 'x', this.cookieAttributes(cookie));
      this.sessionCookieAttributes = sample.slice(cookie.name.length + 2);
    }
  }

  /** The request's state, created on first use. */
  state(req: Request): XemsRequestState {
    const holder = req as unknown as Record<symbol, XemsRequestState | undefined>;
    let state = holder[XEMS_REQUEST_STATE];
    if (!state) {
      state = { cleared: false, hooked: false };
      holder[XEMS_REQUEST_STATE] = state;
    }
    return state;
  }

  /** The request's state if the module has touched this request. */
  peek(req: Request): XemsRequestState | undefined {
    return (req as unknown as Record<symbol, XemsRequestState | undefined>)[XEMS_REQUEST_STATE];
  }

  /** Reads the token the request carries. Never throws: malformed input is reported, not thrown. */
  read(req: Request): XemsTokenLookup {
    const cookie = this.options.cookie;
    const raw = req.headers.cookie;
    if (cookie && typeof raw === 'string' && raw.includes(cookie.name)) {
      const value = parseCookie(raw)[cookie.name];
      if (value !== undefined) {
        if (isDuplicated(raw, cookie.name)) return { kind: 'malformed', via: 'cookie', reason: 'duplicated cookie' };
        if (!TOKEN_PATTERN.test(value)) return { kind: 'malformed', via: 'cookie', reason: 'malformed cookie' };
        return { kind: 'token', token: value, via: 'cookie' };
      }
    }
    const header = this.options.header;
    if (header) {
      const value = req.headers[header];
      if (Array.isArray(value)) return { kind: 'malformed', via: 'header', reason: 'duplicated header' };
      if (typeof value === 'string' && value.trim() !== '') {
        const token = value.trim();
        if (!TOKEN_PATTERN.test(token)) return { kind: 'malformed', via: 'header', reason: 'malformed header' };
        return { kind: 'token', token, via: 'header' };
      }
    }
    return { kind: 'none' };
  }

  /**
   * How a response to this request should carry a new token: the way the request spoke.
   * A client without a token yet (a login) asks for the header by sending it empty.
   */
  replyVia(req: Request, state: XemsRequestState): XemsTokenVia {
    if (state.presented) return state.presented.via;
    if (this.options.header && req.headers[this.options.header] !== undefined) return 'header';
    return this.options.cookie ? 'cookie' : 'header';
  }

  /** Installs the response hook once per request. */
  arm(req: Request, res: Response): void {
    const state = this.state(req);
    if (state.hooked) return;
    state.hooked = true;
    onHeaders(res, () => this.write(res, state));
  }

  /** Runs right before the headers are written. */
  private write(res: Response, state: XemsRequestState): void {
    if (state.cleared) {
      if (this.options.cookie) this.setCookie(res, this.clearCookie(this.options.cookie));
      if (this.options.header) res.removeHeader(this.options.header);
      res.setHeader('Cache-Control', 'no-store');
      return;
    }
    const session = state.session;
    if (!session) return;
    const via = state.via ?? (this.options.cookie ? 'cookie' : 'header');
    const unchanged = session.token === state.presented?.token;
    // A persistent cookie of a sliding session is sent again with the new Max-Age even when the
    // token did not change, so the browser keeps it as long as the server does.
    const refresh = unchanged && via === 'cookie' && session.rememberMe && session.sliding;
    if (unchanged && !refresh) return;
    if (via === 'cookie' && this.options.cookie) {
      this.setCookie(res, this.tokenCookie(this.options.cookie, session.token, session.expiresAt, { persistent: session.rememberMe }));
    } else if (this.options.header) {
      res.setHeader(this.options.header, session.token);
    }
    res.setHeader('Cache-Control', 'no-store');
  }

  /**
   * Set-Cookie for a token. A remember-me (persistent) cookie gets Max-Age = the session's
   * remaining lifetime, rounded down, so it never outlives the server-side expiry; otherwise
   * it is a browser-session cookie (no Max-Age, no Expires).
   */
  tokenCookie(cookie: ResolvedCookieOptions, token: string, expiresAt: number, options: { persistent: boolean; now?: number }): string {
    if (!options.persistent && cookie === this.options.cookie && TOKEN_PATTERN.test(token)) {
      return `${cookie.name}=${token}${this.sessionCookieAttributes}`;
    }
    const maxAge = options.persistent ? Math.max(0, Math.floor((expiresAt - (options.now ?? Date.now())) / 1000)) : undefined;
    return serializeCookie(cookie.name, token, { ...this.cookieAttributes(cookie), maxAge });
  }

  /** The attributes every token cookie carries: HttpOnly always, the rest from the options. */
  private cookieAttributes(cookie: ResolvedCookieOptions): SerializeOptions {
    return { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path, domain: cookie.domain };
  }

  /** Set-Cookie that removes the cookie: same name, path and domain, already expired. */
  clearCookie(cookie: ResolvedCookieOptions): string {
    return serializeCookie(cookie.name, '', { ...this.cookieAttributes(cookie), maxAge: 0, expires: new Date(0) });
  }

  /** Adds our Set-Cookie, replacing an earlier one of the same name, keeping the app's others. */
  private setCookie(res: Response, setCookie: string): void {
    const name = (this.options.cookie as ResolvedCookieOptions).name;
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
