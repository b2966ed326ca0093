import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { parseDuration } from './duration.util';
import { CreateSessionExt, MismatchBits, ResolveExt, SessionFlags, SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess, SidecarState } from './sidecar/sidecar-process';
import { TokenTransport, XemsActiveSession, XemsRequestState } from './token-transport';
import { XemsSchemaOptions, assertSchema, checkSchema } from './typed-data';
import { xemsRequestContext } from './xems.context';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsError, XemsValidationError } from './xems.errors';
import type { XemsEvent, XemsRevokeReason } from './xems.events';
import { TOKEN_PATTERN, XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import type { ResolvedXemsOptions, XemsDuration } from './xems.options';

/** What resolveSession returns for a live session. */
export interface XemsResolvedSession<T = unknown> {
  data: T;
  /** The session's current token (differs from the presented one after a rotation or inside the grace window). */
  token: string;
  /** True only for the call that performed the rotation. */
  rotated: boolean;
  /** Server-side expiry, Unix milliseconds. */
  expiresAt: number;
  /** Public, non-secret session id. */
  id: string;
  /** Created with remember-me (its cookie is persistent). */
  rememberMe?: boolean;
  /** Has an idle timeout (its expiry slides with each use). */
  sliding?: boolean;
  /** The session's CSRF token, when asked for (`csrf: true`). */
  csrfToken?: string;
}

/** The client a request comes from, as Express reports it (`req.ip` honours `trust proxy`). */
export interface XemsClientInfo {
  ip: string;
  userAgent: string;
}

export interface XemsCreateSessionOptions {
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
  schema?: XemsSchemaOptions['schema'] | XemsSchemaOptions;
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
  ttl?: XemsDuration;
  userId?: string;
  /** Remember-me: a persistent cookie whose Max-Age is the session's remaining lifetime. Default false: a browser-session cookie. */
  rememberMe?: boolean;
  /** A label for the device, shown by listSessions (e.g. "Firefox on a laptop"). Not secret. */
  device?: string;
  /** Idle timeout of this session; default: the module's idleTimeout. `false`: none. */
  idleTimeout?: XemsDuration | false;
  /** Validate the data against this class-validator schema first (XemsValidationError if invalid). */
  schema?: XemsSchemaOptions['schema'] | XemsSchemaOptions;
}

export interface XemsRegenerateOptions {
  /** Keep the session's data (default true, unless `data` is given). */
  keepData?: boolean;
  /** The new session's data (replaces the old data). */
  data?: unknown;
  /** Validate `data` against this schema first. */
  schema?: XemsSchemaOptions['schema'] | XemsSchemaOptions;
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
}

/** What stats() reports. */
export interface XemsStats {
  /** Live records (kv + sessions) and sealed bytes, per sandbox. */
  sandboxes: Record<string, { kv: number; sessions: number; records: number; bytes: number }>;
  /** Requests per sidecar operation. */
  ops: Record<string, number>;
  rotations: number;
  reuseDetected: number;
  revoked: number;
  expired: number;
  evicted: number;
  bindingMismatches: number;
  /** Round trips to the sidecar (the last 4096 calls), measured in this process. */
  ipc: { p50Ms: number | null; p99Ms: number | null; samples: number };
  sidecar: { state: SidecarState; pid?: number; buildVersion?: string; uptimeMs: number };
}

/** A key-value store bound to one sandbox: `xems.from('otp-pending')`. */
export interface XemsSandboxStore<V = unknown> {
  readonly sandbox: string;
  /** Stores any JSON-serializable value (undefined is refused). ttl defaults to the module's ttl. */
  set(key: string, value: V, ttl?: XemsDuration): Promise<void>;
  /**
   * The value, or null when absent or expired (or, with a schema, invalid: logged). A session
   * token of this sandbox returns the session's data (no rotation).
   */
  get<T = V>(key: string): Promise<T | null>;
  /** Deletes the key; a session token of this sandbox revokes that session. True if something was removed. */
  del(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Remaining lifetime in milliseconds, or null when absent. */
  ttl(key: string): Promise<number | null>;
  /** Restarts the key's lifetime (default: the module's ttl). False when absent. */
  touch(key: string, ttl?: XemsDuration): Promise<boolean>;
}

/** The client of a request: Express's req.ip (which honours 'trust proxy'), else the socket's peer. */
export function requestClient(req: IncomingMessage): XemsClientInfo {
  const ip = (req as { ip?: unknown }).ip;
  const ua = req.headers['user-agent'];
  return {
    ip: typeof ip === 'string' ? ip : (req.socket?.remoteAddress ?? ''),
    userAgent: typeof ua === 'string' ? ua : '',
  };
}

/** `Dto` or `{ schema: Dto, validator }` as XemsSchemaOptions. */
export function schemaOptions(schema: XemsSchemaOptions['schema'] | XemsSchemaOptions | undefined): XemsSchemaOptions | undefined {
  if (schema === undefined) return undefined;
  return typeof schema === 'function' ? { schema } : schema;
}

type Req = IncomingMessage;
type Res = ServerResponse;

function validationError(code: string, message: string, hint: string): XemsValidationError {
  return new XemsValidationError(code, message, hint);
}

export function assertSandbox(sandbox: unknown): asserts sandbox is string {
  if (typeof sandbox !== 'string' || !XEMS_LIMITS.sandboxPattern.test(sandbox)) {
    throw validationError(
      'INVALID_SANDBOX',
      `Invalid sandbox name ${JSON.stringify(typeof sandbox === 'string' ? sandbox.slice(0, 80) : typeof sandbox)}`,
      'Use 1-64 characters from A-Z a-z 0-9 . _ : -',
    );
  }
}

function encodeJson(value: unknown, what: string): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new XemsValidationError('VALUE_NOT_SERIALIZABLE', `The ${what} cannot be serialized to JSON: ${(err as Error).message}`, 'Store plain data: objects, arrays, strings, numbers, booleans and null (no BigInt, no cycles).');
  }
  if (json === undefined) {
    throw new XemsValidationError('VALUE_NOT_SERIALIZABLE', `The ${what} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`, 'Store null, or delete the key instead of storing undefined.');
  }
  return Buffer.from(json, 'utf8');
}

function decodeJson<T>(bytes: Buffer): T {
  return JSON.parse(bytes.toString('utf8')) as T;
}

function encodeKey(key: unknown): Buffer {
  if (typeof key !== 'string' || key.length === 0) {
    throw validationError('INVALID_KEY', 'A key must be a non-empty string', 'Pass a string key such as "otp:42".');
  }
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > XEMS_LIMITS.maxKeyBytes) {
    throw validationError('KEY_TOO_LARGE', `The key is ${bytes.length} bytes long; the limit is ${XEMS_LIMITS.maxKeyBytes}`, 'Use a shorter key, e.g. a hash of the long one.');
  }
  return bytes;
}

/**
 * The module's API: sessions (create, resolve, update, revoke, link/unlink a request),
 * sandboxed key-value storage (`from(sandbox)`), device lists, and events. It also owns the
 * sidecar's life cycle: started in onModuleInit, stopped in onApplicationShutdown.
 */
@Injectable()
export class XemsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Xems');
  private readonly eventSubject = new Subject<XemsEvent>();
  /** Sidecar and session events; see XemsEvent. Sessions events carry ids, never tokens. */
  readonly events$: Observable<XemsEvent> = this.eventSubject.asObservable();
  /** @internal */
  readonly sidecar: SidecarProcess;
  /** @internal Typed sidecar operations (used by the benchmarks). */
  readonly api: SidecarApi;
  /** @internal */
  readonly transport: TokenTransport;

  constructor(@Inject(XEMS_RESOLVED_OPTIONS) readonly options: ResolvedXemsOptions) {
    this.sidecar = new SidecarProcess(
      {
        ...options.sidecar,
        logLevel: 'info',
        onExpired: (sandbox, ids) => this.onExpired(sandbox, ids),
        persistence: options.persistence.enabled ? options.persistence : undefined,
        store: options.store.type === 'redis' ? options.store : undefined,
      },
      this.logger,
      new Logger('XemsSidecar'),
      (event) => this.eventSubject.next(event),
    );
    this.api = new SidecarApi(this.sidecar);
    this.transport = new TokenTransport(options);
  }

  async onModuleInit(): Promise<void> {
    await this.sidecar.start();
    this.logger.log(`Sidecar ${this.sidecar.buildVersion ?? ''} started (pid ${this.sidecar.pid})`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sidecar.shutdown();
    this.eventSubject.complete();
  }

  // ---------------------------------------------------------------- key-value

  /**
   * A key-value store bound to `sandbox`. With `{ schema }`, values are validated with
   * class-validator on set (XemsValidationError) and on get (an invalid value reads as null and
   * is logged, without its content).
   */
  from<V = unknown>(sandbox: string, options: { schema?: XemsSchemaOptions['schema'] | XemsSchemaOptions } = {}): XemsSandboxStore<V> {
    assertSandbox(sandbox);
    const api = this.api;
    const defaultTtl = this.options.ttlMs;
    const schema = schemaOptions(options.schema);
    const service = this;
    const read = <T>(value: unknown, what: string): T | null => (schema ? service.readTyped<T>(schema, value, `${what} in sandbox ${sandbox}`) : (value as T));
    return {
      sandbox,
      async set(key, value, ttl) {
        const k = encodeKey(key);
        assertSchema(schema, value, 'value');
        await api.kvSet(sandbox, k, encodeJson(value, 'value'), service.ttlMs(ttl, defaultTtl));
      },
      async get<T>(key: string): Promise<T | null> {
        const entry = await api.kvGet(sandbox, encodeKey(key));
        if (entry) return read<T>(decodeJson(entry.value), 'a value');
        if (!TOKEN_PATTERN.test(key)) return null;
        const session = await service.resolveSession(key, { sandbox });
        return session ? read<T>(session.data, 'session data') : null;
      },
      async del(key) {
        if (await api.kvDel(sandbox, encodeKey(key))) return true;
        if (!TOKEN_PATTERN.test(key)) return false;
        return service.revokeSession(key, { sandbox });
      },
      async has(key) {
        return api.kvHas(sandbox, encodeKey(key));
      },
      async ttl(key) {
        return api.kvTtl(sandbox, encodeKey(key));
      },
      async touch(key, ttl) {
        const k = encodeKey(key);
        return (await api.kvTouch(sandbox, k, service.ttlMs(ttl, defaultTtl))) !== null;
      },
    };
  }

  // ---------------------------------------------------------------- sessions

  /** Creates a session holding `data` (any JSON value) and returns its token. */
  async createSession(sandbox: string, data: unknown, options: XemsCreateSessionOptions = {}): Promise<string> {
    return (await this.create(sandbox, data, options)).token;
  }

  /**
   * Resolves a token: its data, the current token and expiry, or null when the token is
   * unknown, expired, revoked, reused after its grace window (which revokes the session), or
   * presented by a client that does not match the session's binding (`client`).
   */
  async resolveSession<T = unknown>(token: string, options: XemsResolveOptions = {}): Promise<XemsResolvedSession<T> | null> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    if (sandbox !== this.options.sandbox) assertSandbox(sandbox); // the default was checked at start-up
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
    const graceMs = options.gracePeriod === undefined ? this.options.graceMs : this.durationMs(options.gracePeriod, 'gracePeriod', 0, XEMS_LIMITS.maxGraceMs);
    const minIntervalMs = options.minRotateInterval === undefined ? 0 : this.durationMs(options.minRotateInterval, 'minRotateInterval', 0, XEMS_LIMITS.maxTtlMs);
    const ext: ResolveExt = { wantCsrf: options.csrf === true };
    const binding = this.options.binding;
    if (options.client && binding.enabled) {
      ext.binding = { onMismatch: binding.onMismatch, ip: options.client.ip, userAgent: options.client.userAgent };
    }
    const result = await this.api.sResolve(sandbox, token, options.rotate === true, graceMs, minIntervalMs, ext);
    if (result.status === 'not_found') return null;
    if (result.status === 'reused') {
      this.logger.warn(`Token reuse detected in sandbox ${sandbox}: session ${result.sessionId} revoked`);
      this.emit({ type: 'session.reused', sandbox, sessionId: result.sessionId });
      return null;
    }
    if (result.status === 'mismatch') {
      this.bindingMismatch(sandbox, result.sessionId, result.mismatch, result.revoked ? 'revoke' : 'reject');
      if (result.revoked) this.emit({ type: 'session.revoked', sandbox, sessionId: result.sessionId, reason: 'binding' });
      return null;
    }
    if (result.mismatch !== 0) this.bindingMismatch(sandbox, result.sessionId, result.mismatch, 'log');
    // Hot path: no event object when nobody listens.
    if (result.rotated && this.eventSubject.observed) this.emit({ type: 'session.rotated', sandbox, sessionId: result.sessionId });
    const session: XemsResolvedSession<T> = {
      data: decodeJson<T>(result.data),
      token: result.token,
      rotated: result.rotated,
      expiresAt: result.expiresAt,
      id: result.sessionId,
      rememberMe: (result.flags & SessionFlags.REMEMBER) !== 0,
      sliding: (result.flags & SessionFlags.IDLE) !== 0,
    };
    if (result.csrfToken) session.csrfToken = result.csrfToken;
    return session;
  }

  /**
   * Replaces the session's data. `target` is a token, or the request whose session (set by
   * SessionGuard or link) to update: then @Session()/getSession() in the same request see the
   * new data too. A token superseded less than the module's gracePeriod ago is accepted. False
   * when the session is dead.
   */
  async updateSession(target: string | Req, data: unknown, options: { sandbox?: string; schema?: XemsSchemaOptions['schema'] | XemsSchemaOptions } = {}): Promise<boolean> {
    assertSchema(schemaOptions(options.schema), data, 'session data');
    const bytes = encodeJson(data, 'session data');
    let state: XemsRequestState | undefined;
    let token: string;
    let sandbox: string;
    if (typeof target === 'string') {
      token = target;
      sandbox = options.sandbox ?? this.options.sandbox;
      state = this.currentState();
    } else {
      state = this.transport.peek(target);
      if (!state?.session) return false;
      token = state.session.token;
      sandbox = options.sandbox ?? state.session.sandbox;
    }
    assertSandbox(sandbox);
    if (!TOKEN_PATTERN.test(token)) return false;
    const expiresAt = await this.api.sUpdate(sandbox, token, bytes, this.options.graceMs);
    if (expiresAt === null) return false;
    const active = state?.session;
    if (active && active.sandbox === sandbox && (active.token === token || state?.presented?.token === token)) {
      active.data = decodeJson(bytes);
      active.expiresAt = expiresAt;
    }
    return true;
  }

  /** Revokes the session of `token` (any of its tokens, including those in the grace window). */
  async revokeSession(token: string, options: { sandbox?: string } = {}): Promise<boolean> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false;
    const sessionId = await this.api.sRevoke(sandbox, token);
    if (sessionId !== null) this.emit({ type: 'session.revoked', sandbox, sessionId, reason: 'revoked' });
    return sessionId !== null;
  }

  /**
   * Logs a request in (XEMS's xLink): revokes the session the request carried (a login never
   * keeps a pre-login token), creates a session (recording the client's address, user agent
   * and `device` label, and binding the session to the client when the `binding` option is on),
   * sends its token the way the client speaks (cookie, or the header when the request used the
   * header; a persistent cookie only with `rememberMe`), makes it the request's session
   * (getSession(req), @Session() in later-running code, listSessions, csrfToken) and returns the
   * token. With `maxSessionsPerUser` and `onLimit: 'reject'` it throws XemsSessionLimitError.
   */
  async link(req: Req, res: Res, data: unknown, sandboxOrOptions?: string | XemsLinkOptions): Promise<string> {
    const options: XemsLinkOptions = typeof sandboxOrOptions === 'string' ? { sandbox: sandboxOrOptions } : (sandboxOrOptions ?? {});
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    this.assertHeadersNotSent(res, 'link');
    assertSchema(schemaOptions(options.schema), data, 'session data');
    const bytes = encodeJson(data, 'session data');
    if (options.device !== undefined && (typeof options.device !== 'string' || options.device.length > 200)) {
      throw validationError('INVALID_DEVICE', 'The device label must be a string of at most 200 characters', 'Pass a short label such as "Firefox on Linux".');
    }
    const state = this.transport.state(req);
    await this.revokeRequestSession(req, state, sandbox);
    const client = requestClient(req);
    const created = await this.create(
      sandbox,
      data,
      {
        ttl: options.ttl,
        userId: options.userId,
        rememberMe: options.rememberMe,
        idleTimeout: options.idleTimeout,
        meta: { ip: client.ip, userAgent: client.userAgent, device: options.device },
      },
      bytes,
      client,
    );
    state.session = {
      sandbox,
      id: created.sessionId,
      token: created.token,
      data: decodeJson(bytes),
      expiresAt: created.expiresAt,
      rotated: false,
      rememberMe: options.rememberMe === true,
      sliding: created.idleMs > 0,
      csrfToken: created.csrfToken,
    };
    state.via = this.transport.replyVia(req, state);
    state.cleared = false;
    this.transport.arm(req, res);
    return created.token;
  }

  /**
   * Logs a request out (XEMS's xUnlink): revokes its session (tokens in the grace window die
   * with it), clears the cookie (same name, path and domain, expired) and drops the token
   * header. Idempotent.
   */
  async unlink(req: Req, res: Res): Promise<void> {
    this.assertHeadersNotSent(res, 'unlink');
    const state = this.transport.state(req);
    await this.revokeRequestSession(req, state, this.options.sandbox);
    state.session = undefined;
    state.cleared = true;
    this.transport.arm(req, res);
  }

  /**
   * Gives the request's session a new identity for a privilege change (password or role
   * change, MFA step-up): a new session id, token and CSRF token, in one atomic step in the
   * sidecar. The old token dies at once, including tokens still in their grace window. The new
   * session keeps the data (or takes `data`), the user, the device, the binding, remember-me,
   * the idle timeout and the absolute expiry (it never lives longer). The response carries the
   * new token. Returns it, or null when the session had already ended (the cookie is cleared).
   */
  async regenerate(req: Req, res: Res, options: XemsRegenerateOptions = {}): Promise<string | null> {
    this.assertHeadersNotSent(res, 'regenerate');
    const state = this.transport.peek(req);
    const active = state?.session;
    if (!state || !active) {
      throw new XemsError('NO_SESSION', 'XemsService.regenerate() was called for a request without a session', 'Call it in a route guarded by SessionGuard, or after link() in the same request.');
    }
    const replace = options.data !== undefined;
    if (replace && options.keepData === true) {
      throw validationError('INVALID_OPTIONS', 'regenerate() was given both keepData: true and data', 'Pass keepData: true to keep the data, or data to replace it.');
    }
    const keep = !replace && options.keepData !== false;
    const newData = replace ? options.data : keep ? active.data : {};
    if (replace) assertSchema(schemaOptions(options.schema), newData, 'session data');
    const bytes = keep ? undefined : encodeJson(newData, 'session data');
    const result = await this.api.sRegenerate(active.sandbox, active.token, this.options.graceMs, keep, bytes);
    if (!result) {
      state.session = undefined;
      state.cleared = true;
      this.transport.arm(req, res);
      return null;
    }
    this.emit({ type: 'session.regenerated', sandbox: active.sandbox, sessionId: result.sessionId, previousSessionId: result.oldSessionId });
    state.session = {
      sandbox: active.sandbox,
      id: result.sessionId,
      token: result.token,
      data: bytes ? decodeJson(bytes) : active.data,
      expiresAt: result.expiresAt,
      rotated: true,
      rememberMe: (result.flags & SessionFlags.REMEMBER) !== 0,
      sliding: (result.flags & SessionFlags.IDLE) !== 0,
      csrfToken: result.csrfToken,
    };
    state.via ??= this.transport.replyVia(req, state);
    state.cleared = false;
    this.transport.arm(req, res);
    return result.token;
  }

  /** The data of the request's session (set by SessionGuard or link), or undefined. */
  getSession<T = unknown>(req: Req): T | undefined {
    return this.transport.peek(req)?.session?.data as T | undefined;
  }

  /**
   * The request's session without its data or token: its public id, sandbox, expiry, whether
   * this request rotated its token (`rotated`) and whether it is a remember-me session.
   */
  getSessionContext(req: Req): XemsSessionContext | undefined {
    const session = this.transport.peek(req)?.session;
    if (!session) return undefined;
    return { id: session.id, sandbox: session.sandbox, expiresAt: session.expiresAt, rotated: session.rotated, rememberMe: session.rememberMe };
  }

  /**
   * The CSRF token of the request's session, to hand to the page (a meta tag, a JSON field):
   * CsrfGuard expects it back in the `x-csrf-token` header or a `_csrf` body field of unsafe
   * requests. It is derived by the sidecar from the session's secret id, so it stays the same
   * across token rotations and changes with regenerate(). Undefined without a session.
   */
  csrfToken(req: Req): string | undefined {
    return this.transport.peek(req)?.session?.csrfToken;
  }

  // ---------------------------------------------------------------- devices

  /**
   * The live sessions of `userId` (created with a userId), newest first, with their device
   * details. `current` (a token, a session id or a request) marks one as current; by default the
   * session of the request being handled (none with the `requestContext` option off).
   */
  async listSessions(userId: string, options: { sandbox?: string; current?: string | Req } = {}): Promise<XemsSessionInfo[]> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    this.assertUserId(userId);
    const currentId = await this.currentSessionId(sandbox, options.current);
    const sessions = await this.api.sList(sandbox, userId);
    return sessions
      .map((s) => {
        const meta = this.parseMeta(s.meta);
        return {
          id: s.sessionId,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
          expiresAt: s.expiresAt,
          ip: meta.ip,
          userAgent: meta.userAgent,
          device: meta.device,
          current: s.sessionId === currentId,
        };
      })
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Revokes one session by its public id (a devices page). True if it existed. */
  async revokeSessionById(id: string, options: { sandbox?: string } = {}): Promise<boolean> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) return false;
    const existed = await this.api.sRevokeId(sandbox, id);
    if (existed) this.emit({ type: 'session.revoked', sandbox, sessionId: id, reason: 'revoked' });
    return existed;
  }

  /**
   * Revokes every session of `userId` ("log out everywhere"), except `except` (a token or a
   * session id) when given ("everywhere else"). One sidecar operation. Returns how many were
   * revoked; the very next request of each revoked device gets 401.
   */
  async revokeSessions(userId: string, options: { sandbox?: string; except?: string } = {}): Promise<number> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    this.assertUserId(userId);
    const except = typeof options.except === 'string' ? options.except : '';
    const ids = await this.api.sRevokeAll(sandbox, userId, except.length > 1024 ? '' : except);
    for (const sessionId of ids) this.emit({ type: 'session.revoked', sandbox, sessionId, reason: 'revoked' });
    return ids.length;
  }

  // ---------------------------------------------------------------- observability

  /**
   * Live records and bytes per sandbox; counters of operations, rotations, reuse detections,
   * revocations, evictions, binding mismatches and expirations (since the sidecar started);
   * IPC round-trip p50/p99 measured here over the last 4096 calls.
   */
  async stats(): Promise<XemsStats> {
    const raw = (await this.api.stats()) as {
      sandboxes?: Record<string, { kv: number; sessions: number; bytes: number }>;
      ops?: Record<string, number>;
      rotations?: number;
      reuseDetected?: number;
      revoked?: number;
      expired?: number;
      evicted?: number;
      bindingMismatches?: number;
      uptimeMs?: number;
    };
    const sandboxes: XemsStats['sandboxes'] = {};
    for (const [name, sb] of Object.entries(raw.sandboxes ?? {})) {
      sandboxes[name] = { kv: sb.kv, sessions: sb.sessions, records: sb.kv + sb.sessions, bytes: sb.bytes };
    }
    const latency = this.sidecar.latency.percentiles();
    return {
      sandboxes,
      ops: { ...raw.ops },
      rotations: raw.rotations ?? 0,
      reuseDetected: raw.reuseDetected ?? 0,
      revoked: raw.revoked ?? 0,
      expired: raw.expired ?? 0,
      evicted: raw.evicted ?? 0,
      bindingMismatches: raw.bindingMismatches ?? 0,
      ipc: { p50Ms: latency?.p50 ?? null, p99Ms: latency?.p99 ?? null, samples: latency?.samples ?? 0 },
      sidecar: { state: this.sidecar.state, pid: this.sidecar.pid, buildVersion: this.sidecar.buildVersion, uptimeMs: raw.uptimeMs ?? 0 },
    };
  }

  // ---------------------------------------------------------------- internals

  private emit(event: XemsEvent): void {
    this.eventSubject.next(event);
  }

  private onExpired(sandbox: string, ids: string[]): void {
    for (const sessionId of ids) this.emit({ type: 'session.expired', sandbox, sessionId });
  }

  private bindingMismatch(sandbox: string, sessionId: string, bits: number, action: 'revoke' | 'reject' | 'log'): void {
    const ip = (bits & MismatchBits.IP) !== 0;
    const userAgent = (bits & MismatchBits.USER_AGENT) !== 0;
    const what = [ip ? 'address' : '', userAgent ? 'user agent' : ''].filter(Boolean).join(' and ');
    const done = { revoke: 'session revoked, request refused', reject: 'request refused', log: 'request served' }[action];
    this.logger.warn(`Binding mismatch in sandbox ${sandbox}: session ${sessionId} presented from another ${what} (${done})`);
    this.emit({ type: 'binding.mismatch', sandbox, sessionId, ip, userAgent, action });
  }

  /** Validates data read back against a schema; invalid data is logged (never its content) and reads as null. */
  private readTyped<T>(schema: XemsSchemaOptions, value: unknown, what: string): T | null {
    const checked = checkSchema(schema, value);
    if (checked.ok) return checked.value as T;
    this.logger.warn(`Stored ${what} does not match ${schema.schema.name}: ${checked.problems.join('; ')}`);
    return null;
  }

  private async create(
    sandbox: string,
    data: unknown,
    options: XemsCreateSessionOptions,
    bytes?: Buffer,
    client?: XemsClientInfo,
  ): Promise<{ token: string; sessionId: string; expiresAt: number; csrfToken: string; idleMs: number }> {
    assertSandbox(sandbox);
    if (options.userId !== undefined) this.assertUserId(options.userId);
    if (!bytes) {
      assertSchema(schemaOptions(options.schema), data, 'session data');
      bytes = encodeJson(data, 'session data');
    }
    const ttlMs = this.ttlMs(options.ttl, this.options.ttlMs);
    const idleMs =
      options.idleTimeout === undefined ? this.options.idleMs : options.idleTimeout === false ? 0 : this.durationMs(options.idleTimeout, 'idleTimeout', 1, XEMS_LIMITS.maxTtlMs);
    const meta = options.meta
      ? Buffer.from(JSON.stringify({ ip: options.meta.ip, userAgent: options.meta.userAgent, device: options.meta.device, createdAt: Date.now() }), 'utf8')
      : undefined;
    const binding = this.options.binding;
    const ext: CreateSessionExt = {
      remember: options.rememberMe === true,
      maxSessions: options.userId === undefined ? 0 : this.options.maxSessionsPerUser,
      onLimit: this.options.onLimit,
      bindIp: client ? binding.ip : 'off',
      bindUserAgent: client ? binding.userAgent : false,
      ip: client && binding.ip !== 'off' ? client.ip : '',
      userAgent: client && binding.userAgent ? client.userAgent : '',
    };
    const created = await this.api.sCreate(sandbox, bytes, ttlMs, idleMs, options.userId ?? '', meta, ext);
    for (const sessionId of created.evicted) this.emit({ type: 'session.revoked', sandbox, sessionId, reason: 'evicted' as XemsRevokeReason });
    this.emit({ type: 'session.created', sandbox, sessionId: created.sessionId });
    return { ...created, idleMs };
  }

  /** Revokes whatever session the request carries or was given in this request. */
  private async revokeRequestSession(req: Req, state: XemsRequestState, sandbox: string): Promise<void> {
    const targets = new Map<string, Set<string>>();
    const add = (token: string | undefined, inSandbox: string) => {
      if (!token) return;
      if (!targets.has(token)) targets.set(token, new Set());
      targets.get(token)!.add(inSandbox);
    };
    const active: XemsActiveSession | undefined = state.session;
    if (active) add(active.token, active.sandbox);
    const presented = state.presented?.token ?? this.presentedToken(req);
    // Which sandbox an unguarded request's token lives in is unknown: try the likely ones.
    if (presented) {
      add(presented, active?.sandbox ?? sandbox);
      add(presented, this.options.sandbox);
      add(presented, sandbox);
    }
    for (const [token, sandboxes] of targets) {
      for (const s of sandboxes) await this.revokeSession(token, { sandbox: s });
    }
  }

  private presentedToken(req: Req): string | undefined {
    const lookup = this.transport.read(req);
    return lookup.kind === 'token' ? lookup.token : undefined;
  }

  private currentState(): XemsRequestState | undefined {
    const req = xemsRequestContext.getStore();
    return req ? this.transport.peek(req) : undefined;
  }

  private async currentSessionId(sandbox: string, current: string | Req | undefined): Promise<string | undefined> {
    if (current !== undefined && typeof current !== 'string') {
      const session = this.transport.peek(current)?.session;
      return session && session.sandbox === sandbox ? session.id : undefined;
    }
    if (current !== undefined) {
      if (!TOKEN_PATTERN.test(current)) return current;
      return (await this.resolveSession(current, { sandbox }))?.id;
    }
    const session = this.currentState()?.session;
    return session && session.sandbox === sandbox ? session.id : undefined;
  }

  private parseMeta(bytes: Buffer): { ip?: string; userAgent?: string; device?: string } {
    if (bytes.length === 0) return {};
    try {
      const meta = JSON.parse(bytes.toString('utf8')) as { ip?: unknown; userAgent?: unknown; device?: unknown };
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
      return { ip: str(meta.ip), userAgent: str(meta.userAgent), device: str(meta.device) };
    } catch {
      return {};
    }
  }

  private assertUserId(userId: unknown): asserts userId is string {
    if (typeof userId !== 'string' || userId.length === 0 || Buffer.byteLength(userId) > 1024) {
      throw validationError('INVALID_USER_ID', 'A userId must be a non-empty string of at most 1024 bytes', 'Pass the user\'s stable id as a string, e.g. String(user.id).');
    }
  }

  private assertHeadersNotSent(res: Res, method: string): void {
    if (res.headersSent) {
      throw new XemsError('HEADERS_SENT', `XemsService.${method}() was called after the response headers were sent`, `Call ${method}() before writing the response body.`);
    }
  }

  private ttlMs(ttl: XemsDuration | undefined, fallback: number): number {
    return ttl === undefined ? fallback : this.durationMs(ttl, 'ttl', 1, XEMS_LIMITS.maxTtlMs);
  }

  private durationMs(value: unknown, field: string, min: number, max: number): number {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) {
      throw validationError(
        field === 'ttl' ? 'INVALID_TTL' : 'INVALID_DURATION',
        `Invalid ${field} ${JSON.stringify(value)}: expected a duration between ${min} and ${max} ms`,
        "Use a number of milliseconds or a string such as '30s', '15m', '1h' (at most 5 days for a TTL, 60 s for a grace period).",
      );
    }
    return ms;
  }
}
