import { XemsProtocolError } from '../xems.errors';
import { BodyReader, RequestWriter } from './frame-codec';
import { Op, SidecarReply, Status, opName } from './protocol';

/** Anything that can carry one request to the sidecar and bring its reply back. */
export interface SidecarTransport {
  request(op: number, frame: Buffer): Promise<SidecarReply>;
}

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

/** Session flags reported by S_RESOLVE and S_REGENERATE. */
export const SessionFlags = { REMEMBER: 1, IDLE: 2 } as const;
/** Mismatch bits of a binding check. */
export const MismatchBits = { IP: 1, USER_AGENT: 2 } as const;

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
}

export interface ListedSession {
  sessionId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  meta: Buffer;
}

const EMPTY = Buffer.alloc(0);

function unexpected(op: number, status: number): XemsProtocolError {
  return new XemsProtocolError('BAD_REPLY', `Unexpected status ${status} in the reply to ${opName(op)}`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
}

/** Expects OK and returns the body reader; NOT_FOUND yields null where the op allows it. */
function okOrNull(op: number, reply: SidecarReply): BodyReader | null {
  if (reply.status === Status.OK) return reply.body;
  if (reply.status === Status.NOT_FOUND) return null;
  throw unexpected(op, reply.status);
}

function ok(op: number, reply: SidecarReply): BodyReader {
  if (reply.status === Status.OK) return reply.body;
  throw unexpected(op, reply.status);
}

/**
 * The typed operations of docs/protocol.md: encodes each request body and decodes each reply
 * body. Keys, values and session data are raw bytes here; JSON lives in XemsService.
 */
export class SidecarApi {
  constructor(private readonly transport: SidecarTransport) {}

  // Not async: an async wrapper would add a promise and a microtask hop to every call.
  private call(op: number, w: RequestWriter): Promise<SidecarReply> {
    return this.transport.request(op, w.finish());
  }

  async ping(): Promise<void> {
    ok(Op.PING, await this.call(Op.PING, new RequestWriter(Op.PING, 0))).end();
  }

  async stats(): Promise<unknown> {
    const r = ok(Op.STATS, await this.call(Op.STATS, new RequestWriter(Op.STATS, 0)));
    const json = r.bytes();
    r.end();
    return JSON.parse(json.toString('utf8'));
  }

  async kvSet(sandbox: string, key: Buffer, value: Buffer, ttlMs: number): Promise<number> {
    const w = new RequestWriter(Op.KV_SET, 32 + key.length + value.length).str(sandbox, 'sandbox').bytes(key).bytes(value).u64(ttlMs);
    const r = ok(Op.KV_SET, await this.call(Op.KV_SET, w));
    const expiresAt = r.i64();
    r.end();
    return expiresAt;
  }

  async kvGet(sandbox: string, key: Buffer): Promise<KvEntry | null> {
    const w = new RequestWriter(Op.KV_GET, 16 + key.length).str(sandbox, 'sandbox').bytes(key);
    const r = okOrNull(Op.KV_GET, await this.call(Op.KV_GET, w));
    if (!r) return null;
    const value = r.bytes();
    const expiresAt = r.i64();
    r.end();
    return { value, expiresAt };
  }

  async kvDel(sandbox: string, key: Buffer): Promise<boolean> {
    return this.flagOp(Op.KV_DEL, new RequestWriter(Op.KV_DEL, 16 + key.length).str(sandbox, 'sandbox').bytes(key));
  }

  async kvHas(sandbox: string, key: Buffer): Promise<boolean> {
    return this.flagOp(Op.KV_HAS, new RequestWriter(Op.KV_HAS, 16 + key.length).str(sandbox, 'sandbox').bytes(key));
  }

  /** Remaining milliseconds, or null when the key is absent. */
  async kvTtl(sandbox: string, key: Buffer): Promise<number | null> {
    const w = new RequestWriter(Op.KV_TTL, 16 + key.length).str(sandbox, 'sandbox').bytes(key);
    return this.i64OrNull(Op.KV_TTL, w);
  }

  /** The new expiry, or null when the key is absent. */
  async kvTouch(sandbox: string, key: Buffer, ttlMs: number): Promise<number | null> {
    const w = new RequestWriter(Op.KV_TOUCH, 24 + key.length).str(sandbox, 'sandbox').bytes(key).u64(ttlMs);
    return this.i64OrNull(Op.KV_TOUCH, w);
  }

  async kvScan(sandbox: string, prefix: Buffer, cursor: string, limit: number): Promise<{ nextCursor: string; keys: Buffer[] }> {
    const w = new RequestWriter(Op.KV_SCAN, 32 + prefix.length).str(sandbox, 'sandbox').bytes(prefix).str(cursor, 'cursor').u32(limit);
    const r = ok(Op.KV_SCAN, await this.call(Op.KV_SCAN, w));
    const nextCursor = r.str();
    const n = r.u32();
    const keys: Buffer[] = [];
    for (let i = 0; i < n; i++) keys.push(r.bytes());
    r.end();
    return { nextCursor, keys };
  }

  async clear(sandbox: string): Promise<number> {
    const r = ok(Op.CLEAR, await this.call(Op.CLEAR, new RequestWriter(Op.CLEAR, 16).str(sandbox, 'sandbox')));
    const removed = r.u64();
    r.end();
    return removed;
  }

  async sCreate(sandbox: string, data: Buffer, ttlMs: number, idleMs: number, userId: string, meta: Buffer = EMPTY, ext?: CreateSessionExt): Promise<CreatedSession> {
    const w = new RequestWriter(Op.S_CREATE, 64 + data.length + meta.length + (ext ? 16 + ext.ip.length + ext.userAgent.length * 3 : 0))
      .str(sandbox, 'sandbox')
      .bytes(data)
      .u64(ttlMs)
      .u64(idleMs)
      .str(userId, 'userId')
      .bytes(meta);
    if (ext) {
      const ipMode = { off: 0, subnet: 1, exact: 2 }[ext.bindIp];
      w.u8(ext.remember ? 1 : 0)
        .u32(ext.maxSessions)
        .u8(ext.onLimit === 'reject' ? 1 : 0)
        .u8(ipMode | (ext.bindUserAgent ? 4 : 0))
        .str(ext.ip, 'ip')
        .str(ext.userAgent, 'userAgent');
    }
    const r = ok(Op.S_CREATE, await this.call(Op.S_CREATE, w));
    const token = r.str();
    const sessionId = r.str();
    const expiresAt = r.i64();
    const csrfToken = r.str();
    const evicted: string[] = [];
    for (let n = r.u32(); n > 0; n--) evicted.push(r.str());
    r.end();
    return { token, sessionId, expiresAt, csrfToken, evicted };
  }

  async sResolve(sandbox: string, token: string, rotate: boolean, graceMs: number, minRotateIntervalMs: number, ext: ResolveExt = {}): Promise<ResolveResult> {
    const binding = ext.binding;
    const flags = (rotate ? 1 : 0) | (binding ? 2 : 0) | (ext.wantCsrf ? 4 : 0);
    const w = new RequestWriter(Op.S_RESOLVE, 112 + (binding ? 8 + binding.ip.length + binding.userAgent.length * 3 : 0))
      .str(sandbox, 'sandbox')
      .str(token, 'token')
      .u8(flags)
      .u64(graceMs)
      .u64(minRotateIntervalMs);
    if (binding) {
      w.u8({ revoke: 0, reject: 1, log: 2 }[binding.onMismatch]).str(binding.ip, 'ip').str(binding.userAgent, 'userAgent');
    }
    const reply = await this.call(Op.S_RESOLVE, w);
    const r = reply.body;
    if (reply.status === Status.NOT_FOUND) {
      r.end();
      return { status: 'not_found' };
    }
    if (reply.status === Status.REUSED) {
      const sessionId = r.str();
      r.end();
      return { status: 'reused', sessionId };
    }
    if (reply.status === Status.MISMATCH) {
      const sessionId = r.str();
      const mismatch = r.u8();
      const revoked = r.u8() === 1;
      r.end();
      return { status: 'mismatch', sessionId, mismatch, revoked };
    }
    ok(Op.S_RESOLVE, reply);
    const current = r.str();
    const rotated = r.u8() === 1;
    const expiresAt = r.i64();
    const sessionId = r.str();
    const data = r.bytes();
    const sessionFlags = r.u8();
    const mismatch = r.u8();
    const csrfToken = r.str();
    r.end();
    return { status: 'ok', token: current, rotated, expiresAt, sessionId, data, flags: sessionFlags, mismatch, csrfToken };
  }

  /** The session's expiry, or null when the token is dead (or superseded graceMs or more ago). */
  async sUpdate(sandbox: string, token: string, data: Buffer, graceMs: number): Promise<number | null> {
    const w = new RequestWriter(Op.S_UPDATE, 104 + data.length).str(sandbox, 'sandbox').str(token, 'token').bytes(data).u64(graceMs);
    return this.i64OrNull(Op.S_UPDATE, w);
  }

  /** The revoked session's id, or null when no live session had that token. */
  async sRevoke(sandbox: string, token: string): Promise<string | null> {
    const r = ok(Op.S_REVOKE, await this.call(Op.S_REVOKE, new RequestWriter(Op.S_REVOKE, 96).str(sandbox, 'sandbox').str(token, 'token')));
    const existed = r.u8() === 1;
    const sessionId = r.str();
    r.end();
    return existed ? sessionId : null;
  }

  /**
   * Replaces the session of `token` by a new one (new token, id and CSRF token); keepData, or
   * `data` for the new session. Null when the token is dead.
   */
  async sRegenerate(sandbox: string, token: string, graceMs: number, keepData: boolean, data: Buffer = EMPTY): Promise<RegeneratedSession | null> {
    const w = new RequestWriter(Op.S_REGENERATE, 112 + data.length)
      .str(sandbox, 'sandbox')
      .str(token, 'token')
      .u64(graceMs)
      .u8(keepData ? 1 : 0)
      .bytes(keepData ? EMPTY : data);
    const r = okOrNull(Op.S_REGENERATE, await this.call(Op.S_REGENERATE, w));
    if (!r) return null;
    const result = { token: r.str(), sessionId: r.str(), expiresAt: r.i64(), csrfToken: r.str(), flags: r.u8(), oldSessionId: r.str() };
    r.end();
    return result;
  }

  async sList(sandbox: string, userId: string): Promise<ListedSession[]> {
    const w = new RequestWriter(Op.S_LIST, 96).str(sandbox, 'sandbox').str(userId, 'userId');
    const r = ok(Op.S_LIST, await this.call(Op.S_LIST, w));
    const n = r.u32();
    const sessions: ListedSession[] = [];
    for (let i = 0; i < n; i++) {
      sessions.push({ sessionId: r.str(), createdAt: r.i64(), lastSeenAt: r.i64(), expiresAt: r.i64(), meta: r.bytes() });
    }
    r.end();
    return sessions;
  }

  /** Revokes every session of userId but the one `except` (a token or a session id) names; returns the revoked ids. */
  async sRevokeAll(sandbox: string, userId: string, except: string): Promise<string[]> {
    const w = new RequestWriter(Op.S_REVOKE_ALL, 160).str(sandbox, 'sandbox').str(userId, 'userId').str(except, 'except');
    const r = ok(Op.S_REVOKE_ALL, await this.call(Op.S_REVOKE_ALL, w));
    const ids: string[] = [];
    for (let n = r.u32(); n > 0; n--) ids.push(r.str());
    r.end();
    return ids;
  }

  async sRevokeId(sandbox: string, sessionId: string): Promise<boolean> {
    return this.flagOp(Op.S_REVOKE_ID, new RequestWriter(Op.S_REVOKE_ID, 96).str(sandbox, 'sandbox').str(sessionId, 'sessionId'));
  }

  private async flagOp(op: number, w: RequestWriter): Promise<boolean> {
    const r = ok(op, await this.call(op, w));
    const flag = r.u8();
    r.end();
    return flag === 1;
  }

  private async i64OrNull(op: number, w: RequestWriter): Promise<number | null> {
    const r = okOrNull(op, await this.call(op, w));
    if (!r) return null;
    const v = r.i64();
    r.end();
    return v;
  }
}
