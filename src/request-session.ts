import type { ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { HttpPlatform, XemsHttpRequest, XemsHttpResponse } from './platform/http-platform';
import { HttpPlatformHost } from './platform/platform-host';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import type { ResolvedPassportOptions } from './options/passport.options';
import { LATE_RESPONSE_MS, SessionLedger } from './session-ledger';
import type { XemsResolvedSession, XemsSessionContext } from './session.types';
import { TokenTransport, type TokenWriteState, type XemsPresentedToken } from './token-transport';
import { XEMS_LIMITS } from './xems.defaults';
import { XEMS_REQUEST_STATE, XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { XemsSessions } from './xems.sessions';

/**
 * How long after its request was resolved a late response may still refresh its token: the
 * successor of the presented token was first presented after that, so within the widest grace
 * window (60 s, less a margin for the clocks of Redis and this process) presenting it again is
 * never taken for reuse.
 */
const REFRESH_WINDOW_MS = XEMS_LIMITS.maxGraceMs - 10_000;

/** What the module keeps on a request (under a symbol): its session and how its response carries the token. */
export interface XemsRequestState extends TokenWriteState {
  /** performance.now() when the request's session was attached. */
  attachedAt: number;
  /** The response hooks are installed. */
  hooked: boolean;
}

/**
 * The module's state of each request it touched, by the request object the platform hands to
 * guards, decorators and handlers (Express's request, Fastify's FastifyRequest). A WeakMap, not
 * a property of the request: adding a property to Express's request (whose prototype Express
 * replaced) costs 3-7 µs per request, a WeakMap 0.3-0.9 µs (bench/FINDINGS.md). One map per
 * process, found through a global symbol, so two copies of the package still agree.
 */
const requestStates: WeakMap<object, XemsRequestState> = ((globalThis as unknown as Record<symbol, unknown>)[XEMS_REQUEST_STATE] ??=
  new WeakMap<object, XemsRequestState>()) as WeakMap<object, XemsRequestState>;

/** The module's state of a request, if the module has touched it. */
export function peekRequestState(req: XemsHttpRequest): XemsRequestState | undefined {
  return requestStates.get(req);
}

/** The session a request holds (attached by SessionGuard, link or regenerate), or undefined. */
export function requestSessionOf(req: XemsHttpRequest): XemsResolvedSession | undefined {
  return peekRequestState(req)?.session;
}

/** The request's session without its data or token: id, sandbox, expiry, whether this request rotated it, remember-me. */
export function describeRequestSession(req: XemsHttpRequest): XemsSessionContext | undefined {
  const session = requestSessionOf(req);
  if (!session) return undefined;
  return {
    id: session.id,
    sandbox: session.sandbox,
    expiresAt: session.expiresAt,
    rotated: session.rotated,
    rememberMe: session.rememberMe,
    ...(session.auth && { authenticatedAt: session.auth.authenticatedAt, authMethods: session.auth.methods }),
    deviceBound: session.deviceBound === true,
  };
}

/**
 * The one owner of a request's session: attaches it (SessionGuard after resolving the presented
 * token; link and regenerate after issuing one), clears it (unlink), peeks at it and describes
 * it. Attaching arms the response: the token transport writes the newest token right before the
 * headers go, and the session counts in the ledger until the response closes. With the Redis
 * store, refreshIfLate() fetches the current token for a response that is about to leave late.
 */
@Injectable()
export class RequestSessions {
  private readonly sharedStore: boolean;
  private readonly passport: ResolvedPassportOptions | false;

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) options: Pick<ResolvedXemsOptions, 'store'> & Partial<Pick<ResolvedXemsOptions, 'passport'>>,
    private readonly transport: TokenTransport,
    private readonly ledger: SessionLedger,
    private readonly sessions: XemsSessions,
    private readonly platforms: HttpPlatformHost,
  ) {
    this.sharedStore = options.store.type === 'redis';
    this.passport = options.passport ?? false;
  }

  /** The HTTP platform the application runs on (chosen at start). */
  get platform(): HttpPlatform {
    return this.platforms.platform;
  }

  /**
   * `session` is now the request's session: found from the token the request `presented`
   * (SessionGuard), or issued in this request (no `presented`: link, regenerate).
   */
  attach(req: XemsHttpRequest, res: XemsHttpResponse, session: XemsResolvedSession, presented?: XemsPresentedToken): void {
    const node = this.platform.nodeResponse(res, presented ? 'SessionGuard' : 'XemsService.link()');
    const state = this.state(req);
    if (presented) {
      state.presented = presented;
      state.via = presented.via;
    }
    state.session = session;
    state.issued = presented === undefined;
    state.cleared = false;
    state.attachedAt = performance.now();
    if (state.entry) this.ledger.leave(state.entry);
    state.entry = this.ledger.enter(session);
    this.hookResponse(req, node, state);
    this.fillPassportUser(req, session);
  }

  /** The request's session ended (unlink, or regenerate found it gone): the response clears the cookie. */
  clear(req: XemsHttpRequest, res: XemsHttpResponse): void {
    const node = this.platform.nodeResponse(res, 'XemsService.unlink()');
    const state = this.state(req);
    state.session = undefined;
    state.cleared = true;
    this.hookResponse(req, node, state);
    if (this.passport) (req as unknown as Record<string, unknown>)[this.passport.property] = undefined;
  }

  /**
   * The session of `token` got new data (updateSession): the request's own copy follows when
   * it is that session, so @Session() later in the request sees the new data.
   */
  updated(req: XemsHttpRequest | undefined, sandbox: string, token: string, data: unknown, expiresAt: number): void {
    if (!req) return;
    const state = peekRequestState(req);
    const session = state?.session;
    if (session && session.sandbox === sandbox && (session.token === token || state.presented?.token === token)) {
      session.data = data;
      session.expiresAt = expiresAt;
      this.fillPassportUser(req, session);
    }
  }

  peek(req: XemsHttpRequest): XemsResolvedSession | undefined {
    return requestSessionOf(req);
  }

  describe(req: XemsHttpRequest): XemsSessionContext | undefined {
    return describeRequestSession(req);
  }

  /** True when the request's response needs refreshIfLate() before it leaves (the Redis store, a presented token). */
  needsRefresh(req: XemsHttpRequest): boolean {
    const state = peekRequestState(req);
    return this.sharedStore && state?.session !== undefined && !state.issued && state.presented !== undefined;
  }

  /**
   * With the Redis store, another instance may have rotated the session's token since this
   * request learned it. Right before the module hands a response to Nest's writer (a returned
   * value, an exception), this vouches for the token to write: still fresh, or fetched anew
   * from the sidecar when late. The fetch presents the token the request presented, without
   * rotating and with the widest grace window: its successor, handed out by this request, is
   * unpresented or was first presented after this request was resolved, and neither is reuse
   * (past that window no fetch is tried). If the fetch fails or finds the session gone, the
   * response writes no token: the client keeps the one it presented, which stays good.
   */
  async refreshIfLate(req: XemsHttpRequest): Promise<void> {
    const state = peekRequestState(req);
    const entry = state?.entry;
    // A token issued during the handler (regenerate, reauthenticated) is written as issued: the
    // presented token is dead by then, and refreshing it would end the new session here.
    if (!state?.presented || state.issued || !entry?.newest) return;
    const now = performance.now();
    if (now - entry.learnedAt > LATE_RESPONSE_MS) {
      if (now - state.attachedAt > REFRESH_WINDOW_MS) return;
      const { sandbox, id } = entry.newest;
      try {
        if (!(await this.sessions.refresh(sandbox, state.presented.token))) {
          this.ledger.end(sandbox, id);
          return;
        }
      } catch {
        return; // an outage or a timeout: no token
      }
    }
    state.vouched = true;
  }

  /** With the `passport` option: `req.user` (or its property) from the session, for @nestjs/passport-style code. */
  private fillPassportUser(req: XemsHttpRequest, session: XemsResolvedSession): void {
    const passport = this.passport;
    if (!passport) return;
    const value = passport.from ? passport.from(session.data, describeRequestSession(req)!) : session.data;
    (req as unknown as Record<string, unknown>)[passport.property] = value;
  }

  /** The state of a request, created on first use. */
  private state(req: XemsHttpRequest): XemsRequestState {
    let state = requestStates.get(req);
    if (!state) requestStates.set(req, (state = { issued: false, cleared: false, hooked: false, attachedAt: 0, vouched: false }));
    return state;
  }

  /** Installs the response hooks once: the token write before the headers, the ledger exit at close. */
  private hookResponse(req: XemsHttpRequest, res: ServerResponse, state: XemsRequestState): void {
    if (state.hooked) return;
    state.hooked = true;
    this.transport.arm(req, res, state);
    // on(), not once(): 'close' comes once, and once() wraps every request's listener.
    res.on('close', () => {
      if (state.entry) this.ledger.leave(state.entry);
      state.entry = undefined;
    });
  }
}
