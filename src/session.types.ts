import type { XemsAuthMethod, XemsAuthentication } from './auth-methods';
import type { XemsDuration } from './duration.util';
import type { XemsClientInfo } from './platform/http-platform';
import type { XemsSchemaOptions } from './typed-data';

/**
 * A live session as the sidecar reported it: what resolveSession returns, and what a request
 * holds once SessionGuard (or link, regenerate) attached it. One shape from the sidecar's reply
 * to the request (@Session(), getSession, the token the response carries).
 */
export interface XemsResolvedSession<T = unknown> {
  /** The sandbox the session lives in. */
  sandbox: string;
  /** Public, non-secret session id. */
  id: string;
  /** The session's current token (differs from the presented one after a rotation or inside the grace window). */
  token: string;
  data: T;
  /** Server-side expiry, Unix milliseconds. */
  expiresAt: number;
  /** True only for the call (the request) that performed the rotation. */
  rotated: boolean;
  /** Created with remember-me (its cookie is persistent). */
  rememberMe: boolean;
  /** Has an idle timeout (its expiry slides with each use). */
  sliding: boolean;
  /** The session's CSRF token, when asked for (`csrf: true`; SessionGuard always asks). */
  csrfToken?: string;
  /** When and how its user last authenticated (link, reauthenticated); undefined when never recorded. */
  auth?: XemsAuthentication;
  /** Bound to a device key (DBSC, the `deviceBound` option); absent = false. */
  deviceBound?: boolean;
}

/**
 * A live session as a read-only check found it (S_PEEK, S_PEEK_ID): what a WebSocket holds
 * after its handshake. No token: a socket holds its session by id and never presents one.
 */
export type XemsPeekedSession<T = unknown> = Omit<XemsResolvedSession<T>, 'token' | 'rotated' | 'csrfToken'> & {
  /** A device-bound session's proof deadline (Unix ms): its sockets are re-checked then. */
  deviceProofDeadline?: number;
};

/** @deprecated The request's session has the shape of every resolved session: use XemsResolvedSession. */
export type XemsActiveSession = XemsResolvedSession;

/** A session's data schema: a class-validator class, or `{ schema, validator }`. */
export type XemsSchemaOption = XemsSchemaOptions['schema'] | XemsSchemaOptions;

export interface XemsCreateSessionOptions {
  /** Lifetime; default: the module's ttl. More than 5 days is capped to 5 days (one warning). */
  ttl?: XemsDuration;
  /** Groups the sessions of one user (listSessions, revokeSessions, maxSessionsPerUser). Stored only as a keyed hash. */
  userId?: string;
  /** Non-secret description of the device (shown by listSessions). */
  meta?: { ip?: string; userAgent?: string; device?: string };
  /** Remember-me: the cookie sent for this session is persistent. Default false. */
  rememberMe?: boolean;
  /** Idle timeout of this session; default: the module's idleTimeout. `false`: none. */
  idleTimeout?: XemsDuration | false;
  /** Validate the data against this class-validator schema first (XemsValidationError if invalid). */
  schema?: XemsSchemaOption;
  /** Record an authentication now, by these methods (e.g. ['pwd']); without it the session has no authentication record. */
  methods?: XemsAuthMethod[];
}

export interface XemsResolveOptions {
  sandbox?: string;
  /** Rotate the token (default false). */
  rotate?: boolean;
  /** Grace window of superseded tokens; default: the module's gracePeriod. */
  gracePeriod?: XemsDuration;
  /** Rotate only if the current token is at least this old (default 0). */
  minRotateInterval?: XemsDuration;
  /** Also return the session's CSRF token (default false). */
  csrf?: boolean;
  /**
   * The client presenting the token: when the module's `binding` option is on, the sidecar
   * compares it with the session's binding and applies `binding.onMismatch`. Without it no
   * binding check is made (SessionGuard always passes it).
   */
  client?: XemsClientInfo;
}

export interface XemsLinkOptions {
  sandbox?: string;
  /** Lifetime; default: the module's ttl. More than 5 days is capped to 5 days (one warning). */
  ttl?: XemsDuration;
  userId?: string;
  /** Remember-me: a persistent cookie whose Max-Age is the session's remaining lifetime. Default false: a browser-session cookie. */
  rememberMe?: boolean;
  /** A label for the device, shown by listSessions (e.g. "Firefox on a laptop"). Not secret. */
  device?: string;
  /** Idle timeout of this session; default: the module's idleTimeout. `false`: none. */
  idleTimeout?: XemsDuration | false;
  /** Validate the data against this class-validator schema first (XemsValidationError if invalid). */
  schema?: XemsSchemaOption;
  /** How the user authenticated (RFC 8176 names such as 'pwd', 'otp', plus 'webauthn'); recorded with the login time. */
  methods?: XemsAuthMethod[];
}

export interface XemsRegenerateOptions {
  /** Keep the session's data (default true, unless `data` is given). */
  keepData?: boolean;
  /** The new session's data (replaces the old data). */
  data?: unknown;
  /** Validate `data` against this schema first. */
  schema?: XemsSchemaOption;
}

export interface XemsSessionInfo {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip?: string;
  userAgent?: string;
  /** The label given to link() (`device`), if any. */
  device?: string;
  /** True for the session of the request being handled (or of `current`). */
  current: boolean;
  /** When its user last authenticated (link, reauthenticated), if recorded. */
  authenticatedAt?: number;
  /** How (the methods recorded with authenticatedAt). */
  authMethods?: XemsAuthMethod[];
  /** Bound to a device key (DBSC): a copied cookie stops working within `deviceBound.lifetime`. */
  deviceBound: boolean;
}

/** The request's session as the module sees it (no token, no data): `getSessionContext(req)`. */
export interface XemsSessionContext {
  /** Public, non-secret session id. */
  id: string;
  sandbox: string;
  /** Server-side expiry, Unix milliseconds. */
  expiresAt: number;
  /** True when this request rotated the session's token. */
  rotated: boolean;
  rememberMe: boolean;
  /** When its user last authenticated (link, reauthenticated), if recorded. */
  authenticatedAt?: number;
  /** How (the methods recorded with authenticatedAt). */
  authMethods?: XemsAuthMethod[];
  /** Bound to a device key (DBSC, the `deviceBound` option). */
  deviceBound: boolean;
}
