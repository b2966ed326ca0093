/**
 * The shapes the sidecar's operations take and answer on the Node side (SidecarApi in
 * sidecar-api.ts): decoded replies and the extension fields of requests.
 */

export interface KvEntry {
  value: Buffer;
  expiresAt: number;
}

export interface CreatedSession {
  token: string;
  sessionId: string;
  expiresAt: number;
  csrfToken: string;
  /** Sessions of the same user ended by the evict-oldest limit policy. */
  evicted: string[];
}

/** S_CREATE's extension fields (docs/protocol.md). */
export interface CreateSessionExt {
  remember: boolean;
  /** 0 = no limit. */
  maxSessions: number;
  onLimit: 'evict-oldest' | 'reject';
  bindIp: 'off' | 'subnet' | 'exact';
  bindUserAgent: boolean;
  ip: string;
  userAgent: string;
  /** The login's authentication record (authAt 0: none). */
  auth?: SidecarAuth;
}

/** An authentication record as the sidecar keeps it: Unix ms (0 = none) and AuthMethods bits. */
export interface SidecarAuth {
  authAt: number;
  authMethods: number;
}

/** What a request tells the sidecar for the binding check. */
export interface BindingCheck {
  onMismatch: 'revoke' | 'reject' | 'log';
  ip: string;
  userAgent: string;
}

export interface ResolveExt {
  wantCsrf?: boolean;
  binding?: BindingCheck;
}

export type ResolveResult =
  | {
      status: 'ok';
      token: string;
      rotated: boolean;
      expiresAt: number;
      sessionId: string;
      data: Buffer;
      flags: number;
      /** MismatchBits of a failed binding check whose action is 'log'. */
      mismatch: number;
      /** '' unless asked for. */
      csrfToken: string;
      auth: SidecarAuth;
    }
  | { status: 'not_found' }
  | { status: 'reused'; sessionId: string }
  | { status: 'mismatch'; sessionId: string; mismatch: number; revoked: boolean };

export interface RegeneratedSession {
  token: string;
  sessionId: string;
  expiresAt: number;
  csrfToken: string;
  flags: number;
  oldSessionId: string;
  authAt: number;
  authMethods: number;
}

export interface ListedSession {
  sessionId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  meta: Buffer;
  authAt: number;
  authMethods: number;
  /** 1 when the session is bound to a device (DBSC). */
  deviceBound: number;
}

/** A verified device proof: the session and its new proof deadline (Unix ms). */
export interface DeviceProofResult {
  sessionId: string;
  deadline: number;
}

/** What S_PEEK and S_PEEK_ID answer. */
export interface PeekedSession {
  sessionId: string;
  expiresAt: number;
  data: Buffer;
  sessionFlags: number;
  /** The proof deadline of a device-bound session (Unix ms); 0 when it is not bound. */
  deviceDeadline: number;
}

/** What S_PEEK answers: the session (with the MismatchBits of the 'log' action), or a binding refusal (never a revocation). */
export type PeekResult = ({ status: 'ok'; mismatch: number } & PeekedSession) | { status: 'mismatch'; sessionId: string; mismatch: number };
