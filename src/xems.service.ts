import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { parseDuration } from './duration.util';
import { SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess } from './sidecar/sidecar-process';
import { TokenTransport, XemsActiveSession, XemsRequestState } from './token-transport';
import { xemsRequestContext } from './xems.context';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsError, XemsValidationError } from './xems.errors';
import type { XemsEvent } from './xems.events';
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
}

export interface XemsCreateSessionOptions {
  ttl?: XemsDuration;
  /** Groups the sessions of one user (listSessions, revokeSessions). Stored only as a keyed hash. */
  userId?: string;
  /** Non-secret description of the device (shown by listSessions). */
  meta?: { ip?: string; userAgent?: string };
}

export interface XemsResolveOptions {
  sandbox?: string;
  /** Rotate the token (default false). */
  rotate?: boolean;
  /** Grace window of superseded tokens; default: the module's gracePeriod. */
  gracePeriod?: XemsDuration;
  /** Rotate only if the current token is at least this old (default 0). */
  minRotateInterval?: XemsDuration;
}

export interface XemsLinkOptions {
  sandbox?: string;
  ttl?: XemsDuration;
  userId?: string;
}

export interface XemsSessionInfo {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip?: string;
  userAgent?: string;
  /** True for the session of the request being handled (or of `current`). */
  current: boolean;
}

/** A key-value store bound to one sandbox: `xems.from('otp-pending')`. */
export interface XemsStore {
  readonly sandbox: string;
  /** Stores any JSON-serializable value (undefined is refused). ttl defaults to the module's ttl. */
  set(key: string, value: unknown, ttl?: XemsDuration): Promise<void>;
  /** The value, or null when absent or expired. A session token of this sandbox returns the session's data (no rotation). */
  get<T = unknown>(key: string): Promise<T | null>;
  /** Deletes the key; a session token of this sandbox revokes that session. True if something was removed. */
  del(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Remaining lifetime in milliseconds, or null when absent. */
  ttl(key: string): Promise<number | null>;
  /** Restarts the key's lifetime (default: the module's ttl). False when absent. */
  touch(key: string, ttl?: XemsDuration): Promise<boolean>;
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
      { ...options.sidecar, logLevel: 'info' },
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

  /** A key-value store bound to `sandbox`. */
  from(sandbox: string): XemsStore {
    assertSandbox(sandbox);
    const api = this.api;
    const defaultTtl = this.options.ttlMs;
    const service = this;
    return {
      sandbox,
      async set(key, value, ttl) {
        const k = encodeKey(key);
        await api.kvSet(sandbox, k, encodeJson(value, 'value'), service.ttlMs(ttl, defaultTtl));
      },
      async get<T>(key: string): Promise<T | null> {
        const entry = await api.kvGet(sandbox, encodeKey(key));
        if (entry) return decodeJson<T>(entry.value);
        if (!TOKEN_PATTERN.test(key)) return null;
        const session = await service.resolveSession<T>(key, { sandbox });
        return session ? session.data : null;
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
   * unknown, expired, revoked, or reused after its grace window (which revokes the session).
   */
  async resolveSession<T = unknown>(token: string, options: XemsResolveOptions = {}): Promise<XemsResolvedSession<T> | null> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
    const graceMs = options.gracePeriod === undefined ? this.options.graceMs : this.durationMs(options.gracePeriod, 'gracePeriod', 0, XEMS_LIMITS.maxGraceMs);
    const minIntervalMs = options.minRotateInterval === undefined ? 0 : this.durationMs(options.minRotateInterval, 'minRotateInterval', 0, XEMS_LIMITS.maxTtlMs);
    const result = await this.api.sResolve(sandbox, token, options.rotate === true, graceMs, minIntervalMs);
    if (result.status === 'not_found') return null;
    if (result.status === 'reused') {
      this.logger.warn(`Token reuse detected in sandbox ${sandbox}: session ${result.sessionId} revoked`);
      this.eventSubject.next({ type: 'session.reused', sandbox, sessionId: result.sessionId });
      return null;
    }
    if (result.rotated) this.eventSubject.next({ type: 'session.rotated', sandbox, sessionId: result.sessionId });
    return {
      data: decodeJson<T>(result.data),
      token: result.token,
      rotated: result.rotated,
      expiresAt: result.expiresAt,
      id: result.sessionId,
    };
  }

  /**
   * Replaces the session's data. `target` is a token, or the request whose session (set by
   * SessionGuard or link) to update: then @Session()/getSession() in the same request see the
   * new data too. False when the session is dead.
   */
  async updateSession(target: string | Req, data: unknown, options: { sandbox?: string } = {}): Promise<boolean> {
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
    const expiresAt = await this.api.sUpdate(sandbox, token, bytes);
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
    const existed = await this.api.sRevoke(sandbox, token);
    if (existed) this.eventSubject.next({ type: 'session.revoked', sandbox });
    return existed;
  }

  /**
   * Logs a request in (XEMS's xLink): revokes the session the request carried (a login never
   * keeps a pre-login token), creates a session, sends its token the way the client speaks
   * (cookie, or the header when the request used the header), makes it the request's session
   * (getSession(req), @Session() in later-running code, listSessions) and returns the token.
   */
  async link(req: Req, res: Res, data: unknown, sandboxOrOptions?: string | XemsLinkOptions): Promise<string> {
    const options: XemsLinkOptions = typeof sandboxOrOptions === 'string' ? { sandbox: sandboxOrOptions } : (sandboxOrOptions ?? {});
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    this.assertHeadersNotSent(res, 'link');
    const bytes = encodeJson(data, 'session data');
    const state = this.transport.state(req);
    await this.revokeRequestSession(req, state, sandbox);
    const ip = (req as { ip?: string }).ip ?? req.socket?.remoteAddress;
    const userAgent = req.headers['user-agent'];
    const created = await this.create(sandbox, data, { ttl: options.ttl, userId: options.userId, meta: { ip, userAgent } }, bytes);
    state.session = { sandbox, id: created.sessionId, token: created.token, data: decodeJson(bytes), expiresAt: created.expiresAt };
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

  /** The data of the request's session (set by SessionGuard or link), or undefined. */
  getSession<T = unknown>(req: Req): T | undefined {
    return this.transport.peek(req)?.session?.data as T | undefined;
  }

  // ---------------------------------------------------------------- devices

  /**
   * The live sessions of `userId` (created with a userId), newest first. `current` (a token or
   * a session id) marks one as current; by default the session of the request being handled.
   */
  async listSessions(userId: string, options: { sandbox?: string; current?: string } = {}): Promise<XemsSessionInfo[]> {
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
    if (existed) this.eventSubject.next({ type: 'session.revoked', sandbox, sessionId: id });
    return existed;
  }

  /**
   * Revokes every session of `userId` ("log out everywhere"), except `except` (a token or a
   * session id) when given. Returns how many were revoked.
   */
  async revokeSessions(userId: string, options: { sandbox?: string; except?: string } = {}): Promise<number> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    this.assertUserId(userId);
    const except = options.except;
    if (except === undefined || except === '' || TOKEN_PATTERN.test(except)) {
      return this.api.sRevokeAll(sandbox, userId, except ?? '');
    }
    let revoked = 0;
    for (const session of await this.api.sList(sandbox, userId)) {
      if (session.sessionId !== except && (await this.api.sRevokeId(sandbox, session.sessionId))) revoked++;
    }
    return revoked;
  }

  /** Counters and sizes reported by the sidecar (STATS). */
  async stats(): Promise<unknown> {
    return this.api.stats();
  }

  // ---------------------------------------------------------------- internals

  private async create(
    sandbox: string,
    data: unknown,
    options: XemsCreateSessionOptions,
    bytes: Buffer = encodeJson(data, 'session data'),
  ): Promise<{ token: string; sessionId: string; expiresAt: number }> {
    assertSandbox(sandbox);
    if (options.userId !== undefined) this.assertUserId(options.userId);
    const ttlMs = this.ttlMs(options.ttl, this.options.ttlMs);
    const meta = options.meta
      ? Buffer.from(JSON.stringify({ ip: options.meta.ip, userAgent: options.meta.userAgent, createdAt: Date.now() }), 'utf8')
      : undefined;
    const created = await this.api.sCreate(sandbox, bytes, ttlMs, 0, options.userId ?? '', meta);
    this.eventSubject.next({ type: 'session.created', sandbox, sessionId: created.sessionId });
    return created;
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

  private async currentSessionId(sandbox: string, current: string | undefined): Promise<string | undefined> {
    if (current !== undefined) {
      if (!TOKEN_PATTERN.test(current)) return current;
      return (await this.resolveSession(current, { sandbox }))?.id;
    }
    const session = this.currentState()?.session;
    return session && session.sandbox === sandbox ? session.id : undefined;
  }

  private parseMeta(bytes: Buffer): { ip?: string; userAgent?: string } {
    if (bytes.length === 0) return {};
    try {
      const meta = JSON.parse(bytes.toString('utf8')) as { ip?: unknown; userAgent?: unknown };
      return {
        ip: typeof meta.ip === 'string' ? meta.ip : undefined,
        userAgent: typeof meta.userAgent === 'string' ? meta.userAgent : undefined,
      };
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
