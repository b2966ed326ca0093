import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedCookieOptions, ResolvedXemsOptions } from './xems.options';
/** How a token travels: the cookie (browsers) or the header (mobile and server clients). */
export type XemsTokenVia = 'cookie' | 'header';
/** The token a request presented, and how. */
export interface XemsPresentedToken {
    token: string;
    via: XemsTokenVia;
}
/** The result of reading a request: a token, nothing, or a malformed carrier. */
export type XemsTokenLookup = {
    kind: 'token';
    token: string;
    via: XemsTokenVia;
} | {
    kind: 'none';
} | {
    kind: 'malformed';
    via: XemsTokenVia;
    reason: string;
};
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
/**
 * Reads the token from a request (cookie first, then header) and writes the current token
 * to the response. Writing happens in an on-headers hook, right before the headers go out,
 * so every response path carries it: a returned value, a thrown HttpException, a redirect,
 * a streamed file, or a handler using @Res().
 */
export declare class TokenTransport {
    private readonly options;
    constructor(options: Pick<ResolvedXemsOptions, 'cookie' | 'header'>);
    /** The request's state, created on first use. */
    state(req: Request): XemsRequestState;
    /** The request's state if the module has touched this request. */
    peek(req: Request): XemsRequestState | undefined;
    /** Reads the token the request carries. Never throws: malformed input is reported, not thrown. */
    read(req: Request): XemsTokenLookup;
    /**
     * How a response to this request should carry a new token: the way the request spoke.
     * A client without a token yet (a login) asks for the header by sending it empty.
     */
    replyVia(req: Request, state: XemsRequestState): XemsTokenVia;
    /** Installs the response hook once per request. */
    arm(req: Request, res: Response): void;
    /** Runs right before the headers are written. */
    private write;
    /** Set-Cookie for a token; Max-Age never outlives the session's server-side expiry. */
    tokenCookie(cookie: ResolvedCookieOptions, token: string, expiresAt: number, now?: number): string;
    /** Set-Cookie that removes the cookie: same name, path and domain, already expired. */
    clearCookie(cookie: ResolvedCookieOptions): string;
    /** Adds our Set-Cookie, replacing an earlier one of the same name, keeping the app's others. */
    private setCookie;
}
export {};
