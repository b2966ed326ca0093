import type { IncomingMessage } from 'node:http';
import { serialize as serializeCookie } from 'cookie';
import type { ResolvedCookieOptions } from '../options/cookie.options';
import type { ResolvedDeviceBoundOptions } from '../options/device-bound.options';

// The DBSC header fields (W3C WebAppSec DBSC; the current names: Chrome ignores the old
// Sec-Session-* ones). Structured fields (RFC 9651): the values we read are sf-strings, which
// we accept only when they hold nothing but the characters their content can have.

/** A compact JWS: three base64url segments (the sidecar checks the rest). At most 4096 characters. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_PROOF = 4096;
/** A session identifier we issue (a public session id) and read back. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The sf-string (or bare value) of a request header, if it matches `pattern`. */
function sfString(req: IncomingMessage, name: string, pattern: RegExp, max: number): string | undefined {
  const raw = req.headers[name];
  if (typeof raw !== 'string' || raw.length > max + 2) return undefined;
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return pattern.test(value) ? value : undefined;
}

/** The proof a registration or refresh carries (`Secure-Session-Response`), if well formed. */
export function readProof(req: IncomingMessage): string | undefined {
  return sfString(req, 'secure-session-response', JWS, MAX_PROOF);
}

/** The session identifier of a refresh (`Sec-Secure-Session-Id`), if well formed. */
export function readSessionIdentifier(req: IncomingMessage): string | undefined {
  return sfString(req, 'sec-secure-session-id', SESSION_ID, 64);
}

/** `Secure-Session-Registration` of a login response: the algorithms, the path and a challenge. */
export function registrationHeader(device: ResolvedDeviceBoundOptions, challenge: string): string {
  return `(${device.algorithms.join(' ')});path="${device.registrationPath}";challenge="${challenge}"`;
}

/** `Secure-Session-Challenge` of a 403 refresh answer: the browser retries with a proof of it. */
export function challengeHeader(challenge: string, sessionIdentifier: string): string {
  return `"${challenge}";id="${sessionIdentifier}"`;
}

/** The bound cookie's attributes as the session instructions state them (Max-Age excluded, as the spec says). */
function boundCookieAttributes(cookie: ResolvedCookieOptions): string {
  const parts = [`Path=${cookie.path}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.secure) parts.push('Secure');
  parts.push('HttpOnly', `SameSite=${cookie.sameSite[0].toUpperCase()}${cookie.sameSite.slice(1)}`);
  return parts.join('; ');
}

/**
 * The `Set-Cookie` of the bound cookie: same attributes as the token cookie, and a Max-Age that
 * ends a little before the proof deadline (90% of the time left), so the browser refreshes
 * before the sidecar would refuse a request. Its value is not a secret and never checked: the
 * deadline the sidecar keeps is what counts.
 */
export function boundCookie(device: ResolvedDeviceBoundOptions, cookie: ResolvedCookieOptions, deadline: number, now = Date.now()): string {
  const maxAge = Math.max(1, Math.floor(((deadline - now) * 0.9) / 1000));
  return serializeCookie(device.cookieName, String(deadline), {
    maxAge,
    path: cookie.path,
    domain: cookie.domain,
    secure: cookie.secure,
    httpOnly: true,
    sameSite: cookie.sameSite,
  });
}

/** The JSON session instructions of a successful registration or refresh. */
export function sessionInstructions(
  device: ResolvedDeviceBoundOptions,
  cookie: ResolvedCookieOptions,
  sessionIdentifier: string,
  origin: string | undefined,
): Record<string, unknown> {
  const scope: Record<string, unknown> = { include_site: false, scope_specification: [] };
  if (origin) scope.origin = origin;
  return {
    session_identifier: sessionIdentifier,
    refresh_url: device.refreshPath,
    scope,
    credentials: [{ type: 'cookie', name: device.cookieName, attributes: boundCookieAttributes(cookie) }],
  };
}

/** The request's own origin (`https://host`), from its Host header: the session's scope. */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (typeof host !== 'string' || !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(host)) return undefined;
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${secure ? 'https' : 'http'}://${host}`;
}
