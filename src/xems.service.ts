import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { type XemsAuthMethod, authMethodBits, authenticatedNow } from './auth-methods';
import type { XemsDuration } from './duration.util';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { DeviceSessions } from './device-bound/device-sessions';
import type { XemsHttpRequest, XemsHttpResponse } from './platform/http-platform';
import { HttpPlatformHost } from './platform/platform-host';
import { RequestSessions, peekRequestState } from './request-session';
import { SandboxStore, type SandboxStoreContext, type XemsSandboxStore } from './sandbox-store';
import { SecureCookieWarning } from './secure-cookie.warning';
import type {
  XemsCreateSessionOptions,
  XemsLinkOptions,
  XemsRegenerateOptions,
  XemsResolveOptions,
  XemsResolvedSession,
  XemsSchemaOption,
  XemsSessionContext,
  XemsSessionInfo,
} from './session.types';
import { SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess } from './sidecar/sidecar-process';
import { TokenTransport } from './token-transport';
import { TtlCap } from './ttl-cap';
import { assertSchema } from './typed-data';
import { xemsRequestContext } from './xems.context';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsError, XemsValidationError } from './xems.errors';
import { type XemsEvent, XemsEvents } from './xems.events';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { isTokenShaped } from './token-shape';
import { type SessionSpec, XemsSessions } from './xems.sessions';
import { type XemsStats, readStats } from './xems.stats';
import { assertHeadersNotSent, assertSandbox, assertUserId, decodeJson, durationMs, encodeJson, schemaOptions } from './xems.validation';

/** The platform's request and response (Express's; Fastify's FastifyRequest and FastifyReply). */
type Req = XemsHttpRequest;
type Res = XemsHttpResponse;

/**
 * The module's API: sessions (create, resolve, update, revoke, link/unlink a request,
 * regenerate), sandboxed key-value storage (`from(sandbox)`), device lists, stats and events.
 * It checks what callers pass (durations, schemas, sandboxes) and leaves the rest to the parts
 * it is built from: XemsSessions (the operations over the sidecar), RequestSessions (the
 * request's session), SandboxStore. It also owns the sidecar's life cycle: started in
 * onModuleInit, stopped in onApplicationShutdown.
 */
@Injectable()
export class XemsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Xems');
  /** Per-call TTLs over 5 days are capped, with one warning per kind of call. */
  private readonly ttlCap = new TtlCap((message) => this.logger.warn(message));
  /** A Secure cookie sent over plain HTTP to a non-loopback host is dropped by browsers: one warning. */
  private readonly secureCookieWarning: SecureCookieWarning;
  private readonly storeContext: SandboxStoreContext;
  /** Sidecar and session events; see XemsEvent. Session events carry ids, never tokens. */
  readonly events$: Observable<XemsEvent>;

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) readonly options: ResolvedXemsOptions,
    private readonly events: XemsEvents,
    /** @internal The supervised child (tests read its pid and state). */
    readonly sidecar: SidecarProcess,
    /** @internal Typed sidecar operations (XemsStore, the benchmarks). */
    readonly api: SidecarApi,
    private readonly sessions: XemsSessions,
    private readonly requestSessions: RequestSessions,
    private readonly transport: TokenTransport,
    private readonly platforms: HttpPlatformHost,
    private readonly devices: DeviceSessions,
  ) {
    this.events$ = events.events$;
    this.secureCookieWarning = new SecureCookieWarning(options.cookie, (message) => this.logger.warn(message));
    this.storeContext = {
      api,
      ttlMs: (ttl, what) => this.ttlMs(ttl, what),
      sessionData: async (sandbox, token) => (await this.resolveSession(token, { sandbox }))?.data ?? null,
      revokeSession: (sandbox, token) => this.revokeSession(token, { sandbox }),
    };
  }

  async onModuleInit(): Promise<void> {
    // First: an unsupported HTTP adapter fails the start before a child is spawned.
    this.platforms.select();
    await this.sidecar.start();
    this.logger.log(`Sidecar ${this.sidecar.buildVersion ?? ''} started (pid ${this.sidecar.pid})`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sidecar.shutdown();
    this.events.complete();
  }

  // ---------------------------------------------------------------- key-value

  /**
   * A key-value store bound to `sandbox`. With `{ schema }`, values are validated with
   * class-validator on set (XemsValidationError) and on get (an invalid value reads as null and
   * is logged, without its content).
   */
  from<V = unknown>(sandbox: string, options: { schema?: XemsSchemaOption } = {}): XemsSandboxStore<V> {
    assertSandbox(sandbox);
    return new SandboxStore<V>(sandbox, this.storeContext, schemaOptions(options.schema));
  }

  // ---------------------------------------------------------------- sessions

  /** Creates a session holding `data` (any JSON value) and returns its token. */
  async createSession(sandbox: string, data: unknown, options: XemsCreateSessionOptions = {}): Promise<string> {
    assertSandbox(sandbox);
    const spec = this.sessionSpec(options, 'createSession()');
    assertSchema(schemaOptions(options.schema), data, 'session data');
    const bytes = encodeJson(data, 'session data');
    const auth = options.methods === undefined ? undefined : authenticatedNow(authMethodBits(options.methods, 'createSession()'));
    return (await this.sessions.create(sandbox, bytes, { ...spec, meta: options.meta, auth })).token;
  }

  /**
   * Resolves a token: its data, the current token and expiry, or null when the token is
   * unknown, expired, revoked, reused after its grace window (which revokes the session), or
   * presented by a client that does not match the session's binding (`client`).
   */
  resolveSession<T = unknown>(token: string, options: XemsResolveOptions = {}): Promise<XemsResolvedSession<T> | null> {
    // Not async: an async function that returns the resolve's promise costs three microtask
    // hops on every call; a bad argument still rejects (never throws).
    try {
      const sandbox = options.sandbox ?? this.options.sandbox;
      if (sandbox !== this.options.sandbox) assertSandbox(sandbox); // the default was checked at start-up
      if (!isTokenShaped(token)) return Promise.resolve(null);
      const graceMs =
        options.gracePeriod === undefined
          ? this.options.gracePeriod
          : durationMs(options.gracePeriod, 'gracePeriod', 0, XEMS_LIMITS.maxGraceMs);
      const minRotateIntervalMs =
        options.minRotateInterval === undefined ? 0 : durationMs(options.minRotateInterval, 'minRotateInterval', 0, XEMS_LIMITS.maxTtlMs);
      return this.sessions.resolve<T>(sandbox, token, {
        rotate: options.rotate === true,
        graceMs,
        minRotateIntervalMs,
        csrf: options.csrf === true,
        client: options.client,
      });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * Replaces the session's data. `target` is a token, or the request whose session (set by
   * SessionGuard or link) to update: then @Session()/getSession() in the same request see the
   * new data too. A token superseded less than the module's gracePeriod ago is accepted. False
   * when the session is dead.
   */
  async updateSession(
    target: string | Req,
    data: unknown,
    options: { sandbox?: string; schema?: XemsSchemaOption } = {},
  ): Promise<boolean> {
    assertSchema(schemaOptions(options.schema), data, 'session data');
    const bytes = encodeJson(data, 'session data');
    const req = typeof target === 'string' ? xemsRequestContext.getStore() : target;
    const own = typeof target === 'string' ? undefined : this.requestSessions.peek(target);
    if (typeof target !== 'string' && !own) return false;
    const token = own ? own.token : (target as string);
    const sandbox = options.sandbox ?? own?.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (!isTokenShaped(token)) return false;
    const expiresAt = await this.sessions.update(sandbox, token, bytes);
    if (expiresAt === null) return false;
    this.requestSessions.updated(req, sandbox, token, decodeJson(bytes), expiresAt);
    return true;
  }

  /** Revokes the session of `token` (any of its tokens, including those in the grace window). */
  async revokeSession(token: string, options: { sandbox?: string } = {}): Promise<boolean> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (!isTokenShaped(token)) return false;
    return (await this.sessions.revoke(sandbox, token)) !== null;
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
    assertHeadersNotSent(this.platforms.platform.nodeResponse(res, 'XemsService.link()'), 'link');
    assertSchema(schemaOptions(options.schema), data, 'session data');
    const bytes = encodeJson(data, 'session data');
    if (options.device !== undefined && (typeof options.device !== 'string' || options.device.length > 200)) {
      throw new XemsValidationError(
        'INVALID_DEVICE',
        'The device label must be a string of at most 200 characters',
        'Pass a short label such as "Firefox on Linux".',
      );
    }
    const spec = this.sessionSpec(options, 'link()');
    const methods = authMethodBits(options.methods, 'link()');
    await this.revokeRequestSession(req, sandbox);
    const client = this.platforms.platform.client(req);
    const session = await this.sessions.create(sandbox, bytes, {
      ...spec,
      meta: { ip: client.ip, userAgent: client.userAgent, device: options.device },
      client,
      auth: authenticatedNow(methods),
    });
    this.requestSessions.attach(req, res, session);
    this.secureCookieWarning.check(req, peekRequestState(req)?.via);
    await this.devices.offer(this.platforms.platform.nodeResponse(res, 'XemsService.link()'), sandbox, session.token);
    return session.token;
  }

  /**
   * Logs a request out (XEMS's xUnlink): revokes its session (tokens in the grace window die
   * with it), clears the cookie (same name, path and domain, expired) and drops the token
   * header. Idempotent.
   */
  async unlink(req: Req, res: Res): Promise<void> {
    assertHeadersNotSent(this.platforms.platform.nodeResponse(res, 'XemsService.unlink()'), 'unlink');
    await this.revokeRequestSession(req, this.options.sandbox);
    this.requestSessions.clear(req, res);
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
    const active = this.sessionOf(req, res, 'regenerate');
    const replace = options.data !== undefined;
    if (replace && options.keepData === true) {
      throw new XemsValidationError(
        'INVALID_OPTIONS',
        'regenerate() was given both keepData: true and data',
        'Pass keepData: true to keep the data, or data to replace it.',
      );
    }
    const keep = !replace && options.keepData !== false;
    if (replace) assertSchema(schemaOptions(options.schema), options.data, 'session data');
    const next = await this.sessions.regenerate(active, keep ? undefined : encodeJson(replace ? options.data : {}, 'session data'));
    return this.adopt(req, res, next);
  }

  /**
   * After the user proved themselves again (a password or passkey prompt): records the new
   * authentication (now, by `methods`) and, as for any privilege change, gives the session a
   * new identity (regenerate: the old token dies, including its grace window). Routes with
   * @RequireFreshAuth pass again. Returns the new token, or null when the session had ended.
   */
  async reauthenticated(req: Req, res: Res, options: { methods?: XemsAuthMethod[] } = {}): Promise<string | null> {
    const active = this.sessionOf(req, res, 'reauthenticated');
    const auth = authenticatedNow(authMethodBits(options.methods, 'reauthenticated()'));
    return this.adopt(req, res, await this.sessions.regenerate(active, undefined, auth));
  }

  /**
   * After the user changed a credential (password, passkey, MFA): gives the caller's session a
   * new identity and ends every other session of the same user (ASVS: terminate the other
   * sessions after a credential change; reason 'credential-change'). Returns how many other
   * sessions ended; the caller's session ended meanwhile: 0, its cookie cleared.
   */
  async onCredentialChange(req: Req, res: Res): Promise<number> {
    const active = this.sessionOf(req, res, 'onCredentialChange');
    const token = await this.adopt(req, res, await this.sessions.regenerate(active));
    return token === null ? 0 : (await this.sessions.revokeOthers(active.sandbox, token)).length;
  }

  /** The data of the request's session (set by SessionGuard or link), or undefined. */
  getSession<T = unknown>(req: Req): T | undefined {
    return this.requestSessions.peek(req)?.data as T | undefined;
  }

  /**
   * The request's session without its data or token: its public id, sandbox, expiry, whether
   * this request rotated its token (`rotated`) and whether it is a remember-me session.
   */
  getSessionContext(req: Req): XemsSessionContext | undefined {
    return this.requestSessions.describe(req);
  }

  /**
   * The CSRF token of the request's session, to hand to the page (a meta tag, a JSON field):
   * CsrfGuard expects it back in the `x-csrf-token` header or a `_csrf` body field of unsafe
   * requests. It is derived by the sidecar from the session's secret id, so it stays the same
   * across token rotations and changes with regenerate(). Undefined without a session.
   */
  csrfToken(req: Req): string | undefined {
    return this.requestSessions.peek(req)?.csrfToken;
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
    assertUserId(userId);
    const currentId = await this.currentSessionId(sandbox, options.current);
    return (await this.sessions.list(sandbox, userId)).map((s) => ({ ...s, current: s.id === currentId }));
  }

  /** Revokes one session by its public id (a devices page). True if it existed. */
  async revokeSessionById(id: string, options: { sandbox?: string } = {}): Promise<boolean> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) return false;
    return this.sessions.revokeById(sandbox, id);
  }

  /**
   * Revokes every session of `userId` ("log out everywhere"), except `except` (a token or a
   * session id) when given ("everywhere else"). One sidecar operation. Returns how many were
   * revoked; the very next request of each revoked device gets 401.
   */
  async revokeSessions(userId: string, options: { sandbox?: string; except?: string } = {}): Promise<number> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    assertUserId(userId);
    const except = typeof options.except === 'string' ? options.except : '';
    return (await this.sessions.revokeAll(sandbox, userId, except.length > 1024 ? '' : except)).length;
  }

  /**
   * Ends every session of a sandbox ("log everyone out": a breach, a key rotation), in one
   * sidecar operation, with the memory and the Redis store; key-value records stay. Every
   * session is refused (401) at its next request; other sandboxes are untouched. Emits one
   * `sessions.revoked-all` event (reason 'admin'). Returns how many sessions ended.
   */
  async revokeAll(options: { sandbox?: string } = {}): Promise<number> {
    const sandbox = options.sandbox ?? this.options.sandbox;
    assertSandbox(sandbox);
    return this.sessions.revokeSandbox(sandbox);
  }

  // ---------------------------------------------------------------- observability

  /**
   * Live records and bytes per sandbox; counters of operations, rotations, reuse detections,
   * revocations, evictions, binding mismatches and expirations (since the sidecar started);
   * IPC round-trip p50/p99 measured here over the last 4096 calls.
   */
  stats(): Promise<XemsStats> {
    return readStats(this.api, this.sidecar);
  }

  // ---------------------------------------------------------------- internals

  /** Lifetimes and owner of a new session, checked (per-call TTLs over 5 days capped). */
  private sessionSpec(
    options: { ttl?: XemsDuration; idleTimeout?: XemsDuration | false; userId?: string; rememberMe?: boolean },
    caller: string,
  ): SessionSpec {
    if (options.userId !== undefined) assertUserId(options.userId);
    const idleMs =
      options.idleTimeout === undefined
        ? this.options.idleTimeout || 0
        : options.idleTimeout === false
          ? 0
          : durationMs(options.idleTimeout, 'idleTimeout', 1, XEMS_LIMITS.maxTtlMs);
    return { ttlMs: this.ttlMs(options.ttl, `A ttl given to ${caller}`), idleMs, userId: options.userId, rememberMe: options.rememberMe };
  }

  /** A TTL given to a method, in milliseconds (more than 5 days is capped), or the module's ttl. */
  private ttlMs(ttl: XemsDuration | undefined, what: string): number {
    return ttl === undefined ? this.options.ttl : this.ttlCap.apply(durationMs(ttl, 'ttl', 1, Number.MAX_SAFE_INTEGER), what, ttl);
  }

  /** Revokes whatever session the request carries or was given in this request. */
  private async revokeRequestSession(req: Req, sandbox: string): Promise<void> {
    const targets = new Map<string, Set<string>>();
    const add = (token: string | undefined, inSandbox: string) => {
      if (!token) return;
      if (!targets.has(token)) targets.set(token, new Set());
      targets.get(token)!.add(inSandbox);
    };
    const active = this.requestSessions.peek(req);
    if (active) add(active.token, active.sandbox);
    const presented = peekRequestState(req)?.presented?.token ?? this.presentedToken(req);
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

  /** The request's session, for an operation that needs one (NO_SESSION otherwise). */
  private sessionOf(req: Req, res: Res, operation: string): XemsResolvedSession {
    assertHeadersNotSent(this.platforms.platform.nodeResponse(res, `XemsService.${operation}()`), operation);
    const active = this.requestSessions.peek(req);
    if (!active) {
      throw new XemsError(
        'NO_SESSION',
        `XemsService.${operation}() was called for a request without a session`,
        'Call it in a route guarded by SessionGuard, or after link() in the same request.',
      );
    }
    return active;
  }

  /** Makes `next` the request's session, or clears the cookie when the session had ended. */
  private adopt(req: Req, res: Res, next: XemsResolvedSession | null): string | null {
    if (!next) {
      this.requestSessions.clear(req, res);
      return null;
    }
    this.requestSessions.attach(req, res, next);
    return next.token;
  }

  private presentedToken(req: Req): string | undefined {
    const lookup = this.transport.read(req);
    return lookup.kind === 'token' ? lookup.token : undefined;
  }

  private async currentSessionId(sandbox: string, current: string | Req | undefined): Promise<string | undefined> {
    if (current !== undefined && typeof current !== 'string') {
      const session = this.requestSessions.peek(current);
      return session && session.sandbox === sandbox ? session.id : undefined;
    }
    if (current !== undefined) {
      if (!isTokenShaped(current)) return current;
      return (await this.resolveSession(current, { sandbox }))?.id;
    }
    const req = xemsRequestContext.getStore();
    const session = req && this.requestSessions.peek(req);
    return session && session.sandbox === sandbox ? session.id : undefined;
  }
}
