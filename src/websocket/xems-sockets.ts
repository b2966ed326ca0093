import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import type { ResolvedXemsOptions } from '../xems.resolved-options';
import type { XemsPeekedSession, XemsSessionContext } from '../session.types';
import { TokenTransport } from '../token-transport';
import { XemsValidationError, isSidecarUnavailable } from '../xems.errors';
import { type XemsEvent, type XemsRevokeReason, XemsEvents } from '../xems.events';
import { XEMS_RESOLVED_OPTIONS } from '../xems.internal-constants';
import { isTokenShaped } from '../token-shape';
import { XemsSessions } from '../xems.sessions';
import { isBindingOn } from '../options/binding.options';
import type { XemsClientInfo } from '../platform/http-platform';
import { HttpPlatformHost } from '../platform/platform-host';
import {
  WS_CLOSE,
  isSocketOpen,
  XEMS_UNAUTHORIZED_EVENT,
  authToken,
  closeSocket,
  isKnownSocket,
  onSocketGone,
  sendEvent,
  tellEnded,
  upgradeRequest,
} from './socket-platform';
import { describeSocketSession, socketStateOf } from './socket-session';
import { expiryDelay, retryDelay } from './socket-expiry';

/**
 * Why a socket's session ended (the `reason` of the `xems:session-ended` event): a revoke
 * reason (logout, revoke, eviction, binding), token reuse, expiry, regenerate,
 * `device-proof-overdue` (a device-bound session past its proof deadline: the session is
 * kept, the client reconnects after the browser's refresh), or `ended` when a message found
 * it gone without an event saying why.
 */
export type XemsSessionEndReason = XemsRevokeReason | 'reused' | 'expired' | 'regenerated' | 'device-proof-overdue' | 'ended';

/**
 * Why a handshake was refused (the `reason` of the `xems:unauthorized` event):
 * `device-proof-overdue` a device-bound session past its proof deadline, `binding-mismatch` a
 * client that does not match the session's binding (the session is never revoked by it).
 */
export type XemsSocketRefusal =
  'missing' | 'malformed' | 'invalid' | 'origin' | 'unavailable' | 'device-proof-overdue' | 'binding-mismatch';

export interface XemsSocketAuthOptions {
  /** The sandbox of the session; default: the module's. Must be the sandbox the gateway's SessionGuard checks (@XemsSandbox). */
  sandbox?: string;
}

/**
 * Sessions over WebSockets (`@nestjs/platform-socket.io` and `@nestjs/platform-ws`). Call
 * `authenticate(client, request)` from the gateway's `handleConnection`: it finds the session
 * once, from socket.io's `auth.token`, the upgrade request's cookie or the token header,
 * without presenting the token (S_PEEK: nothing rotates, never reuse); a socket without a
 * session gets `xems:unauthorized` and is closed. The socket then holds the session by id;
 * SessionGuard checks it on every message. When the session ends (logout, revoke, expiry,
 * reuse, regenerate, binding) its sockets get `xems:session-ended` `{ reason }` and are closed.
 * The handshake applies HTTP's rules that change nothing: the client binding (the `binding`
 * option; a mismatch refuses, never revokes) and the device proof deadline (`deviceBound`).
 * A session that expires without an event (Redis's own expiry) is noticed by a timer at its
 * expiry, which re-checks it by id.
 */
@Injectable()
export class XemsSockets implements OnModuleDestroy {
  private readonly logger = new Logger('Xems');
  /** The sockets holding each session, by sandbox and id, and the timer at its expiry. */
  private readonly bySession = new Map<string, HeldSession>();
  /** Subscribed to the event stream on the first handshake (no cost for apps without sockets). */
  private subscription?: Subscription;
  /** Counts session ends seen: a handshake whose peek overlapped one checks its session again. */
  private endings = 0;
  /** After onModuleDestroy: no socket is registered and no timer armed (the sidecar is stopping). */
  private destroyed = false;

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: ResolvedXemsOptions,
    private readonly sessions: XemsSessions,
    private readonly transport: TokenTransport,
    private readonly events: XemsEvents,
    @Optional() private readonly platforms: HttpPlatformHost = new HttpPlatformHost(),
  ) {}

  /**
   * Authenticates a socket once, at its handshake: the session context, or null when the
   * socket was refused (and closed). `request` is the upgrade request `@nestjs/platform-ws`
   * passes to `handleConnection` after the client (socket.io keeps its own). Never throws for
   * a refused client; messages that arrive before it completes wait for it in SessionGuard.
   */
  authenticate(client: unknown, request?: unknown, options: XemsSocketAuthOptions = {}): Promise<XemsSessionContext | null> {
    if (!isKnownSocket(client)) {
      throw new XemsValidationError(
        'NOT_A_SOCKET',
        'XemsSockets.authenticate() needs the client of handleConnection (a socket.io Socket or a ws WebSocket)',
        'Call it as `handleConnection(client, request) { return this.sockets.authenticate(client, request); }` in a gateway on @nestjs/platform-socket.io or @nestjs/platform-ws.',
      );
    }
    const state = socketStateOf(client);
    if (state.session) return Promise.resolve(describeSocketSession(client) ?? null); // ioMiddleware did it
    const pending = this.handshake(client, upgradeRequest(client, request), options.sandbox ?? this.options.sandbox, (reason) =>
      this.refuse(client, reason),
    );
    state.pending = pending;
    return pending.then(() => {
      if (state.pending === pending) state.pending = undefined;
      return describeSocketSession(client) ?? null;
    });
  }

  /**
   * socket.io only, optional: a middleware that authenticates in the handshake itself, so a
   * client without a session never connects (its `connect_error` has `message`
   * 'unauthorized' and `data: { reason }`). In the gateway: `afterInit(server: Server) {
   * server.use(this.sockets.ioMiddleware()); }`; `handleConnection` then needs nothing.
   */
  ioMiddleware(options: XemsSocketAuthOptions = {}): (socket: object, next: (error?: Error) => void) => void {
    return (socket, next) => {
      if (!isKnownSocket(socket)) return next(new Error('not a socket.io socket'));
      let refused: XemsSocketRefusal | undefined;
      const sandbox = options.sandbox ?? this.options.sandbox;
      void this.handshake(socket, upgradeRequest(socket, undefined), sandbox, (reason) => {
        refused = reason;
        return null;
      }).then(() => next(refused ? Object.assign(new Error('unauthorized'), { data: { reason: refused } }) : undefined));
    };
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.subscription?.unsubscribe();
    for (const held of this.bySession.values()) clearTimeout(held.timer); // no check after the sidecar stops
    this.bySession.clear();
  }

  private async handshake(
    client: object,
    req: IncomingMessage | undefined,
    sandbox: string,
    refuse: (reason: XemsSocketRefusal) => null,
  ): Promise<XemsPeekedSession | null> {
    this.subscription ??= this.events.events$.subscribe((event) => this.onEvent(event));
    const found = this.handshakeToken(client, req);
    if ('refused' in found) return refuse(found.refused);
    let seen = this.endings;
    let session;
    try {
      session = await this.sessions.peek(sandbox, found.token, this.bindingClient(req));
      // An end (revoke, expiry, regenerate...) that arrived while the peek was answered found
      // no socket to close: ask again by id, until no end overlaps (bounded: ends are rare).
      for (let i = 0; i < 3 && session && typeof session !== 'string' && seen !== this.endings; i++) {
        seen = this.endings;
        session = await this.sessions.peekById(sandbox, session.id);
      }
    } catch (error) {
      if (!isSidecarUnavailable(error)) this.logger.error(`WebSocket handshake failed: ${(error as Error).message}`);
      return refuse('unavailable');
    }
    if (!session) return refuse('invalid');
    if (typeof session === 'string') return refuse(session);
    if (this.destroyed || !isSocketOpen(client)) return null; // closed meanwhile: nothing to hold
    socketStateOf(client).session = session;
    this.register(client, session);
    return session;
  }

  /**
   * The token of the handshake: socket.io's `auth.token` (set by the app's script), else the
   * upgrade request's cookie, else its token header. With `cookie.sameSite: 'none'` a cookie
   * is also sent by cross-site pages, so then it counts only from the app's own origin.
   */
  private handshakeToken(client: object, req: IncomingMessage | undefined): { token: string } | { refused: XemsSocketRefusal } {
    const auth = authToken(client);
    if (auth !== undefined) return isTokenShaped(auth) ? { token: auth } : { refused: 'malformed' };
    if (!req) return { refused: 'missing' };
    const found = this.transport.read(req);
    if (found.kind !== 'token') return { refused: found.kind === 'none' ? 'missing' : 'malformed' };
    if (found.via === 'cookie' && this.options.cookie !== false && this.options.cookie.sameSite === 'none' && !sameOrigin(req)) {
      return { refused: 'origin' };
    }
    return { token: found.token };
  }

  /**
   * The client the binding check compares, when the `binding` option is on: the upgrade
   * request's address and User-Agent as the HTTP platform reads them (Express: its `req.ip`
   * with the app's 'trust proxy'; Fastify: the socket's peer). Without the request (not
   * possible once a token was found) an empty client, which a bound session refuses.
   */
  private bindingClient(req: IncomingMessage | undefined): XemsClientInfo | undefined {
    if (!isBindingOn(this.options.binding)) return undefined;
    return req ? this.platforms.upgradeClient(req) : { ip: '', userAgent: '' };
  }

  private refuse(client: object, reason: XemsSocketRefusal): null {
    sendEvent(client, XEMS_UNAUTHORIZED_EVENT, { reason });
    // 1013 "try again later" says why in its reason too: the client was not refused as unauthorized.
    if (reason === 'unavailable') closeSocket(client, WS_CLOSE.unavailable, 'unavailable');
    else closeSocket(client, WS_CLOSE.unauthorized, 'unauthorized');
    return null;
  }

  private register(client: object, session: XemsPeekedSession): void {
    const k = key(session.sandbox, session.id);
    let held = this.bySession.get(k);
    if (!held)
      this.bySession.set(k, (held = { sandbox: session.sandbox, id: session.id, sockets: new Set(), dueAt: Infinity, failures: 0 }));
    held.sockets.add(client);
    onSocketGone(client, () => {
      const current = this.bySession.get(k);
      current?.sockets.delete(client);
      if (current?.sockets.size === 0) {
        clearTimeout(current.timer);
        this.bySession.delete(k);
      }
    });
    // A guarded message's peek may show a sooner check (a device registered since).
    socketStateOf(client).onPeek = (current) => {
      const now = this.bySession.get(k);
      if (now) this.checkBy(now, current);
    };
    this.checkBy(held, session);
  }

  /**
   * One timer per held session, unref'd, due at its expiry or, for a device-bound session,
   * its proof deadline if sooner: the memory store reports expiry (EXPIRED frames), but a
   * Redis key that expires says nothing, and nothing reports a deadline passing, so an idle
   * socket (a thief's, listening to broadcasts) would outlive either. When due, the session
   * is re-checked by id (an idle expiry may have slid, a refresh moved the deadline) and its
   * sockets are closed if it is gone (`expired`) or past its deadline (`device-proof-overdue`).
   * A later handshake or message that shows a sooner check brings the timer forward.
   */
  private checkBy(held: HeldSession, session: XemsPeekedSession): void {
    const delay = expiryDelay(this.checkAt(session), Date.now());
    if (held.timer === undefined || Date.now() + delay < held.dueAt) this.arm(held, delay);
  }

  /**
   * When a held session must be re-checked: its expiry, or its device proof deadline if
   * sooner; with `deviceBound` on, a session not bound yet at most one proof lifetime from
   * now, since its device may register through another instance (no event here), and from
   * then on a copied cookie's socket must not outlive the deadline by more than that.
   */
  private checkAt(session: XemsPeekedSession): number {
    let at = session.expiresAt;
    const deadline = session.deviceProofDeadline;
    if (deadline !== undefined && deadline < at) at = deadline;
    const device = this.options.deviceBound;
    if (device && !session.deviceBound) at = Math.min(at, Date.now() + device.lifetime);
    return at;
  }

  private arm(held: HeldSession, delayMs: number): void {
    clearTimeout(held.timer);
    if (this.destroyed || this.bySession.get(key(held.sandbox, held.id)) !== held) return;
    held.dueAt = Date.now() + delayMs;
    held.timer = setTimeout(() => void this.recheck(held), delayMs).unref();
  }

  private async recheck(held: HeldSession): Promise<void> {
    let current;
    try {
      current = await this.sessions.peekById(held.sandbox, held.id);
    } catch (error) {
      // Logged once per run of failures; retried later and later (5 s doubling up to a minute).
      if (held.failures++ === 0 && !isSidecarUnavailable(error)) {
        this.logger.error(`WebSocket session check failed: ${(error as Error).message}`);
      }
      return this.arm(held, retryDelay(held.failures));
    }
    held.failures = 0;
    if (current === null) return this.ended(held.sandbox, held.id, 'expired');
    if (current === 'device-proof-overdue') return this.ended(held.sandbox, held.id, current);
    this.arm(held, expiryDelay(this.checkAt(current), Date.now()));
  }

  private onEvent(event: XemsEvent): void {
    switch (event.type) {
      case 'session.revoked':
        return this.ended(event.sandbox, event.sessionId, event.reason);
      case 'session.reused':
        return this.ended(event.sandbox, event.sessionId, 'reused');
      case 'session.expired':
        return this.ended(event.sandbox, event.sessionId, 'expired');
      case 'session.regenerated':
        return this.ended(event.sandbox, event.previousSessionId, 'regenerated');
      case 'session.ended':
        return this.ended(event.sandbox, event.sessionId, event.reason);
      case 'sessions.revoked-all':
        return this.endedAll(event.sandbox, event.reason);
      case 'session.device-registered':
      case 'session.device-refreshed': {
        // The proof deadline moved (or exists now): check the held session at once.
        const held = this.bySession.get(key(event.sandbox, event.sessionId));
        if (held) this.arm(held, 0);
        return;
      }
    }
  }

  /** revokeAll(): every socket of the sandbox is told and closed. */
  private endedAll(sandbox: string, reason: XemsSessionEndReason): void {
    this.endings++;
    const prefix = key(sandbox, '');
    for (const k of [...this.bySession.keys()]) {
      if (k.startsWith(prefix)) this.ended(sandbox, k.slice(prefix.length), reason);
    }
  }

  /** Tells the session's sockets it ended, and closes them. */
  private ended(sandbox: string, sessionId: string, reason: XemsSessionEndReason): void {
    this.endings++;
    const k = key(sandbox, sessionId);
    const held = this.bySession.get(k);
    if (!held) return;
    clearTimeout(held.timer);
    this.bySession.delete(k);
    for (const client of held.sockets) {
      socketStateOf(client).session = undefined;
      tellEnded(client, reason);
    }
  }
}

/** The sockets holding one session, and the timer that re-checks it. */
interface HeldSession {
  sandbox: string;
  id: string;
  sockets: Set<object>;
  timer?: NodeJS.Timeout;
  /** When the timer fires (Unix ms). */
  dueAt: number;
  /** Re-checks failed in a row. */
  failures: number;
}

function key(sandbox: string, sessionId: string): string {
  return `${sandbox}\u0000${sessionId}`;
}

/** The upgrade request comes from a page of the same origin (or from no page: no Origin header). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
