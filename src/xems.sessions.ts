import { Inject, Injectable, Logger } from '@nestjs/common';
import { authenticationOf } from './auth-methods';
import { isPastCeiling } from './auth-freshness';
import { isBindingOn } from './options/binding.options';
import type { ResolvedXemsOptions } from './xems.resolved-options';
import { SessionLedger } from './session-ledger';
import type { XemsClientInfo } from './platform/http-platform';
import type { XemsPeekedSession, XemsResolvedSession, XemsSessionInfo } from './session.types';
import {
  type CreateSessionExt,
  MismatchBits,
  type PeekedSession,
  type ResolveExt,
  type ResolveResult,
  SessionFlags,
  type SidecarAuth,
  SidecarApi,
} from './sidecar/sidecar-api';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsDeviceProofError } from './xems.errors';
import { XemsEvents } from './xems.events';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import { decodeJson } from './xems.validation';

/** How a token is resolved: whether to rotate, and the windows, in milliseconds. */
export interface XemsRotationPolicy {
  rotate: boolean;
  graceMs: number;
  minRotateIntervalMs: number;
}

/** A resolve: the rotation policy, whether to return the CSRF token, and the client for the binding check. */
export interface SessionLookup extends XemsRotationPolicy {
  csrf?: boolean;
  /** Checked against the session's binding when the `binding` option is on. */
  client?: XemsClientInfo;
}

/** Why a read-only check (a WebSocket handshake) refused a session it found; the session is kept. */
export type XemsPeekRefusal = 'device-proof-overdue' | 'binding-mismatch';

/** A new session: lifetimes in milliseconds (already checked and capped), owner, device and client. */
export interface SessionSpec {
  ttlMs: number;
  /** 0 = no idle timeout. */
  idleMs: number;
  userId?: string;
  rememberMe?: boolean;
  /** Non-secret device details shown by listSessions. */
  meta?: DeviceMeta;
  /** The client to bind the session to (when the `binding` option is on). */
  client?: XemsClientInfo;
  /** The login's authentication record (link; createSession with methods). */
  auth?: SidecarAuth;
}

/** Non-secret device details of a session. */
export type DeviceMeta = { ip?: string; userAgent?: string; device?: string };

/** A listed session before the caller's is marked. */
export type ListedSessionInfo = Omit<XemsSessionInfo, 'current'>;

/**
 * The session operations over the sidecar, in milliseconds and bytes (the public API's
 * parsing and validation is XemsService's): create, resolve (rotation, grace, binding), refresh,
 * update, revoke, regenerate, list. Each emits its event and keeps the ledger in step (a
 * rotation seen, a session ended). SessionGuard resolves through here directly.
 */
@Injectable()
export class XemsSessions {
  private readonly logger = new Logger('Xems');

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: ResolvedXemsOptions,
    private readonly api: SidecarApi,
    private readonly events: XemsEvents,
    private readonly ledger: SessionLedger,
  ) {}

  /**
   * The session of `token`: its data, current token and expiry, or null when the token is
   * unknown, expired, revoked, reused after its grace window (which revokes the session), or
   * presented by a client that does not match the session's binding.
   */
  async resolve<T = unknown>(sandbox: string, token: string, lookup: SessionLookup): Promise<XemsResolvedSession<T> | null> {
    const ext: ResolveExt = { wantCsrf: lookup.csrf === true };
    const binding = this.options.binding;
    if (lookup.client && isBindingOn(binding)) {
      ext.binding = { onMismatch: binding.onMismatch, ip: lookup.client.ip, userAgent: lookup.client.userAgent };
    }
    let result: ResolveResult | null;
    try {
      result = await this.api.sResolve(sandbox, token, lookup.rotate, lookup.graceMs, lookup.minRotateIntervalMs, ext);
    } catch (error) {
      // Not .catch(): one promise less on every guarded request.
      result = deviceOverdue(error);
    }
    // not_found, or (deviceBound) past the proof deadline: refused, the session kept for its device.
    if (result === null || result.status === 'not_found') return null;
    if (result.status === 'reused') {
      this.logger.warn(`Token reuse detected in sandbox ${sandbox}: session ${result.sessionId} revoked`);
      this.ended(sandbox, result.sessionId);
      this.events.emit({ type: 'session.reused', sandbox, sessionId: result.sessionId });
      return null;
    }
    if (result.status === 'mismatch') {
      this.bindingMismatch(sandbox, result.sessionId, result.mismatch, result.revoked ? 'revoke' : 'reject');
      if (result.revoked) {
        this.ended(sandbox, result.sessionId);
        this.events.revoked(sandbox, [result.sessionId], 'binding');
      }
      return null;
    }
    if (result.mismatch !== 0) this.bindingMismatch(sandbox, result.sessionId, result.mismatch, 'log');
    const auth = authenticationOf(result.auth);
    // No clock read for a session without an authentication record (most resolves).
    if (auth && isPastCeiling(auth, this.options.reauthentication.maxAgeMs, Date.now())) {
      await this.endPastCeiling(sandbox, result.token, result.sessionId);
      return null;
    }
    // Hot path: no event object when nobody listens.
    if (result.rotated && this.events.observed) this.events.emit({ type: 'session.rotated', sandbox, sessionId: result.sessionId });
    const session: XemsResolvedSession<T> = {
      sandbox,
      id: result.sessionId,
      token: result.token,
      data: decodeJson<T>(result.data),
      expiresAt: result.expiresAt,
      rotated: result.rotated,
      rememberMe: (result.flags & SessionFlags.REMEMBER) !== 0,
      sliding: (result.flags & SessionFlags.IDLE) !== 0,
    };
    if (result.csrfToken) session.csrfToken = result.csrfToken;
    if (auth) session.auth = auth;
    if ((result.flags & SessionFlags.DEVICE_BOUND) !== 0) session.deviceBound = true;
    this.ledger.learn(session);
    return session;
  }

  /**
   * The current state of the session a request presented `token` for, without rotating: the
   * widest grace window, no binding check (the request passed it), no CSRF token.
   */
  refresh(sandbox: string, token: string): Promise<XemsResolvedSession | null> {
    return this.resolve(sandbox, token, { rotate: false, graceMs: XEMS_LIMITS.maxGraceMs, minRotateIntervalMs: 0 });
  }

  /**
   * The session of `token` without presenting it (a WebSocket handshake): the module's grace
   * window, no rotation, no idle slide; a token that would be reuse is null and ends nothing,
   * so a socket can never revoke a session that HTTP requests keep rotating. The rules HTTP
   * applies before anything changes apply too: a device-bound session past its proof
   * deadline is refused, and with the `binding` option on, `client` is checked. A mismatch
   * is refused with onMismatch 'revoke' and 'reject' alike (a socket never ends a session:
   * the `binding.mismatch` event says 'reject'); 'log' accepts and reports it.
   */
  async peek<T = unknown>(sandbox: string, token: string, client?: XemsClientInfo): Promise<XemsPeekedSession<T> | XemsPeekRefusal | null> {
    const binding = this.options.binding;
    const check =
      client && isBindingOn(binding) ? { onMismatch: binding.onMismatch, ip: client.ip, userAgent: client.userAgent } : undefined;
    let found;
    try {
      found = await this.api.sPeek(sandbox, token, this.options.gracePeriod, check);
    } catch (error) {
      deviceOverdue(error); // rethrows any other error
      return 'device-proof-overdue';
    }
    if (!found) return null;
    if (found.status === 'mismatch') {
      this.bindingMismatch(sandbox, found.sessionId, found.mismatch, 'reject');
      return 'binding-mismatch';
    }
    if (found.mismatch !== 0) this.bindingMismatch(sandbox, found.sessionId, found.mismatch, 'log');
    return peeked<T>(sandbox, found);
  }

  /**
   * The live session with this public id (a WebSocket's later messages), changed in nothing;
   * 'device-proof-overdue' for a device-bound session past its proof deadline (kept).
   */
  async peekById<T = unknown>(sandbox: string, sessionId: string): Promise<XemsPeekedSession<T> | 'device-proof-overdue' | null> {
    let found;
    try {
      found = await this.api.sPeekId(sandbox, sessionId);
    } catch (error) {
      deviceOverdue(error); // rethrows any other error
      return 'device-proof-overdue';
    }
    return found ? peeked<T>(sandbox, found) : null;
  }

  /** Creates a session holding `data` (JSON bytes). */
  async create(sandbox: string, data: Buffer, spec: SessionSpec): Promise<XemsResolvedSession> {
    const binding = this.options.binding;
    const client = spec.client;
    const meta = spec.meta ? encodeMeta(spec.meta) : undefined;
    const ext: CreateSessionExt = {
      remember: spec.rememberMe === true,
      maxSessions: spec.userId === undefined ? 0 : this.options.maxSessionsPerUser,
      onLimit: this.options.onLimit,
      bindIp: client ? binding.ip : 'off',
      bindUserAgent: client ? binding.userAgent : false,
      ip: client && binding.ip !== 'off' ? client.ip : '',
      userAgent: client && binding.userAgent ? client.userAgent : '',
      auth: spec.auth,
    };
    const created = await this.api.sCreate(sandbox, data, spec.ttlMs, spec.idleMs, spec.userId ?? '', meta, ext);
    this.events.revoked(sandbox, created.evicted, 'evicted');
    this.events.emit({ type: 'session.created', sandbox, sessionId: created.sessionId });
    return {
      sandbox,
      id: created.sessionId,
      token: created.token,
      data: decodeJson(data),
      expiresAt: created.expiresAt,
      rotated: false,
      rememberMe: spec.rememberMe === true,
      sliding: spec.idleMs > 0,
      csrfToken: created.csrfToken,
      ...(spec.auth && { auth: authenticationOf(spec.auth) }),
    };
  }

  /** Replaces the data of the session of `token` (current, or superseded less than the module's gracePeriod ago); its new expiry, or null when it is dead. */
  update(sandbox: string, token: string, data: Buffer): Promise<number | null> {
    return this.api.sUpdate(sandbox, token, data, this.options.gracePeriod);
  }

  /** Revokes the session of `token` (any of its tokens); its id, or null when there was none. */
  async revoke(sandbox: string, token: string): Promise<string | null> {
    const sessionId = await this.api.sRevoke(sandbox, token);
    if (sessionId !== null) {
      this.ended(sandbox, sessionId);
      this.events.revoked(sandbox, [sessionId], 'revoked');
    }
    return sessionId;
  }

  async revokeById(sandbox: string, sessionId: string): Promise<boolean> {
    const existed = await this.api.sRevokeId(sandbox, sessionId);
    if (existed) {
      this.ended(sandbox, sessionId);
      this.events.revoked(sandbox, [sessionId], 'revoked');
    }
    return existed;
  }

  /** Revokes every session of `userId` but the one `except` names (a token or a session id); the revoked ids. */
  async revokeAll(sandbox: string, userId: string, except: string): Promise<string[]> {
    const ids = await this.api.sRevokeAll(sandbox, userId, except);
    for (const id of ids) this.ended(sandbox, id);
    this.events.revoked(sandbox, ids, 'revoked');
    return ids;
  }

  /**
   * Gives `session` a new identity (id, token, CSRF token): its data kept, or `data` (JSON
   * bytes). With `auth` (a reauthentication) the new session gets that authentication record.
   * The new session, or null when the old one had already ended.
   */
  async regenerate(session: XemsResolvedSession, data?: Buffer, auth?: SidecarAuth): Promise<XemsResolvedSession | null> {
    const result = await this.api.sRegenerate(session.sandbox, session.token, this.options.gracePeriod, data === undefined, data, auth);
    if (!result) return null;
    this.ended(session.sandbox, result.oldSessionId);
    this.events.emit({
      type: 'session.regenerated',
      sandbox: session.sandbox,
      sessionId: result.sessionId,
      previousSessionId: result.oldSessionId,
    });
    return {
      sandbox: session.sandbox,
      id: result.sessionId,
      token: result.token,
      data: data === undefined ? session.data : decodeJson(data),
      expiresAt: result.expiresAt,
      rotated: true,
      rememberMe: (result.flags & SessionFlags.REMEMBER) !== 0,
      sliding: (result.flags & SessionFlags.IDLE) !== 0,
      csrfToken: result.csrfToken,
      ...(result.authAt > 0 && { auth: authenticationOf(result) }),
      deviceBound: (result.flags & SessionFlags.DEVICE_BOUND) !== 0,
    };
  }

  /** Ends every session of `sandbox` in one sidecar operation (KV records stay); how many. */
  async revokeSandbox(sandbox: string): Promise<number> {
    const count = await this.api.sRevokeSandbox(sandbox);
    this.ledger.endSandbox(sandbox);
    this.events.emit({ type: 'sessions.revoked-all', sandbox, count, reason: 'admin' });
    return count;
  }

  /** Ends every other session of the user of `token`'s session (a credential change); the revoked ids. */
  async revokeOthers(sandbox: string, token: string): Promise<string[]> {
    const ids = await this.api.sRevokeOthers(sandbox, token);
    for (const id of ids) this.ended(sandbox, id);
    this.events.revoked(sandbox, ids, 'credential-change');
    return ids;
  }

  /** The live sessions of `userId`, newest first, with the device details recorded at creation. */
  async list(sandbox: string, userId: string): Promise<ListedSessionInfo[]> {
    const sessions = await this.api.sList(sandbox, userId);
    return sessions
      .map((s) => {
        const meta = parseMeta(s.meta);
        const auth = authenticationOf(s);
        return {
          id: s.sessionId,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
          expiresAt: s.expiresAt,
          ip: meta.ip,
          userAgent: meta.userAgent,
          device: meta.device,
          ...(auth && { authenticatedAt: auth.authenticatedAt, authMethods: auth.methods }),
          deviceBound: s.deviceBound === 1,
        };
      })
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  /** A session past the reauthentication ceiling: ended, as if revoked, before anything sees it. */
  private async endPastCeiling(sandbox: string, token: string, sessionId: string): Promise<void> {
    const revoked = await this.api.sRevoke(sandbox, token);
    this.ended(sandbox, sessionId);
    if (revoked !== null) this.events.revoked(sandbox, [revoked], 'reauthentication');
  }

  /** A session ended on purpose or by a verdict: responses still in flight for it write no token. */
  private ended(sandbox: string, sessionId: string): void {
    this.ledger.end(sandbox, sessionId);
  }

  private bindingMismatch(sandbox: string, sessionId: string, bits: number, action: 'revoke' | 'reject' | 'log'): void {
    const ip = (bits & MismatchBits.IP) !== 0;
    const userAgent = (bits & MismatchBits.USER_AGENT) !== 0;
    const what = [ip ? 'address' : '', userAgent ? 'user agent' : ''].filter(Boolean).join(' and ');
    const done = { revoke: 'session revoked, request refused', reject: 'request refused', log: 'request served' }[action];
    this.logger.warn(`Binding mismatch in sandbox ${sandbox}: session ${sessionId} presented from another ${what} (${done})`);
    this.events.emit({ type: 'binding.mismatch', sandbox, sessionId, ip, userAgent, action });
  }
}

function peeked<T>(sandbox: string, found: PeekedSession): XemsPeekedSession<T> {
  return {
    sandbox,
    id: found.sessionId,
    data: decodeJson<T>(found.data),
    expiresAt: found.expiresAt,
    rememberMe: (found.sessionFlags & SessionFlags.REMEMBER) !== 0,
    sliding: (found.sessionFlags & SessionFlags.IDLE) !== 0,
    deviceBound: (found.sessionFlags & SessionFlags.DEVICE_BOUND) !== 0,
    ...(found.deviceDeadline > 0 && { deviceProofDeadline: found.deviceDeadline }),
  };
}

/** The device details stored with a session: non-secret JSON, read back by listSessions. */
function encodeMeta(meta: DeviceMeta): Buffer {
  return Buffer.from(JSON.stringify({ ip: meta.ip, userAgent: meta.userAgent, device: meta.device, createdAt: Date.now() }), 'utf8');
}

function parseMeta(bytes: Buffer): DeviceMeta {
  if (bytes.length === 0) return {};
  try {
    const meta = JSON.parse(bytes.toString('utf8')) as { ip?: unknown; userAgent?: unknown; device?: unknown };
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return { ip: str(meta.ip), userAgent: str(meta.userAgent), device: str(meta.device) };
  } catch {
    return {};
  }
}

/** A bound session past its proof deadline resolves to nothing (401); other errors stay errors. */
function deviceOverdue(error: unknown): null {
  if (error instanceof XemsDeviceProofError && error.code === 'DEVICE_PROOF_OVERDUE') return null;
  throw error;
}
