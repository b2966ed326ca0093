import type { SidecarEvent } from './sidecar/sidecar-process';

/** Why a session was ended by someone other than its expiry. */
export type XemsRevokeReason =
  /** revokeSession, revokeSessionById, revokeSessions, unlink, or a login replacing the request's session. */
  | 'revoked'
  /** maxSessionsPerUser with onLimit 'evict-oldest': a newer login of the same user. */
  | 'evicted'
  /** binding with onMismatch 'revoke': a request from another client. */
  | 'binding';

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
  /** A request did not match the session's binding: which parts differed, and what was done. */
  | {
      type: 'binding.mismatch';
      sandbox: string;
      sessionId: string;
      ip: boolean;
      userAgent: boolean;
      action: 'revoke' | 'reject' | 'log';
    };

/**
 * Everything XemsService.events$ emits: sidecar life cycle (`sidecar.started`,
 * `sidecar.restarted`, `sidecar.unavailable`, `sidecar.stopped`) and session events.
 */
export type XemsEvent = SidecarEvent | XemsSessionEvent;
