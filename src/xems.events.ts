import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { SidecarEvent } from './sidecar/sidecar-process';

/** Why a session was ended by someone other than its expiry. */
export type XemsRevokeReason =
  /** revokeSession, revokeSessionById, revokeSessions, unlink, or a login replacing the request's session. */
  | 'revoked'
  /** maxSessionsPerUser with onLimit 'evict-oldest': a newer login of the same user. */
  | 'evicted'
  /** binding with onMismatch 'revoke': a request from another client. */
  | 'binding'
  /** revokeAll(): an administrator ended every session of the sandbox (one `sessions.revoked-all` event). */
  | 'admin'
  /** onCredentialChange(): the user's other sessions end when a credential changes. */
  | 'credential-change'
  /** The `reauthentication` ceiling: the user last authenticated longer ago than it allows. */
  | 'reauthentication';

/**
 * Session life-cycle events. They carry public session ids (the ids listSessions shows), never
 * a token, a CSRF token, session data, an address or a user agent.
 */
export type XemsSessionEvent =
  | { type: 'session.created'; sandbox: string; sessionId: string }
  | { type: 'session.rotated'; sandbox: string; sessionId: string }
  /** A token superseded longer ago than the grace period came back (theft suspected): the session was revoked. */
  | { type: 'session.reused'; sandbox: string; sessionId: string }
  | { type: 'session.revoked'; sandbox: string; sessionId: string; reason: XemsRevokeReason }
  /** Reported by the sidecar when it removes a session whose lifetime or idle timeout ran out. */
  | { type: 'session.expired'; sandbox: string; sessionId: string }
  /** regenerate(): the session got a new identity; the previous one is dead. */
  | { type: 'session.regenerated'; sandbox: string; sessionId: string; previousSessionId: string }
  /**
   * revokeAll(): every session of the sandbox ended in one sidecar operation, which reports how
   * many, not which (a sandbox may hold millions): one event for all of them.
   */
  | { type: 'sessions.revoked-all'; sandbox: string; count: number; reason: 'admin' }
  /** A request did not match the session's binding: which parts differed, and what was done. */
  | {
      type: 'binding.mismatch';
      sandbox: string;
      sessionId: string;
      ip: boolean;
      userAgent: boolean;
      action: 'revoke' | 'reject' | 'log';
    }
  /**
   * With the Redis store: another instance ended this session (its own events$ reported it
   * there, with its details). This instance closes the WebSockets it holds for it.
   */
  | { type: 'session.ended'; sandbox: string; sessionId: string; reason: XemsEndedReason }
  /** deviceBound: the browser registered its device key with the session (DBSC). */
  | { type: 'session.device-registered'; sandbox: string; sessionId: string }
  /** deviceBound: the browser proved possession of the device key again; the proof deadline moved. */
  | { type: 'session.device-refreshed'; sandbox: string; sessionId: string }
  /**
   * deviceBound: a registration or refresh was refused. `reason`: DEVICE_PROOF_REFUSED (another
   * key, a used or expired challenge, a malformed proof), DEVICE_NOT_BOUND, DEVICE_ALREADY_BOUND,
   * NO_PROOF, NO_SESSION or ENDED (the session is over: the browser is told to stop).
   * `sessionId`: the session identifier the browser named, when it named one.
   */
  | { type: 'session.device-refused'; sandbox: string; sessionId?: string; reason: string };

/** Why another instance ended a session (`session.ended`). */
export type XemsEndedReason = XemsRevokeReason | 'reused' | 'expired' | 'regenerated';

/** ENDED frames' reason codes (EndReason in the protocol table), in code order. */
const ENDED_REASONS: readonly XemsEndedReason[] = ['revoked', 'evicted', 'binding', 'reused', 'expired', 'regenerated'];

/**
 * Everything XemsService.events$ emits: sidecar life cycle (`sidecar.started`,
 * `sidecar.restarted`, `sidecar.unavailable`, `sidecar.stopped`) and session events.
 */
export type XemsEvent = SidecarEvent | XemsSessionEvent;

/** The module's one event stream: the sidecar and the session operations emit here; XemsService.events$ shows it. */
@Injectable()
export class XemsEvents {
  private readonly subject = new Subject<XemsEvent>();
  readonly events$: Observable<XemsEvent> = this.subject.asObservable();

  emit(event: XemsEvent): void {
    this.subject.next(event);
  }

  /** True while someone listens (the hot path then builds its event objects). */
  get observed(): boolean {
    return this.subject.observed;
  }

  /** Sessions the sidecar removed because their lifetime or idle timeout ran out. */
  expired(sandbox: string, sessionIds: string[]): void {
    for (const sessionId of sessionIds) this.emit({ type: 'session.expired', sandbox, sessionId });
  }

  /** Sessions another instance ended (ENDED frames); an unknown reason code reads as 'revoked'. */
  endedElsewhere(sandbox: string, reasonCode: number, sessionIds: string[]): void {
    const reason = ENDED_REASONS[reasonCode] ?? 'revoked';
    for (const sessionId of sessionIds) this.emit({ type: 'session.ended', sandbox, sessionId, reason });
  }

  revoked(sandbox: string, sessionIds: Iterable<string>, reason: XemsRevokeReason): void {
    for (const sessionId of sessionIds) this.emit({ type: 'session.revoked', sandbox, sessionId, reason });
  }

  complete(): void {
    this.subject.complete();
  }
}
