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
}

export type ResolveResult =
  | { status: 'ok'; token: string; rotated: boolean; expiresAt: number; sessionId: string; data: Buffer }
  | { status: 'not_found' }
  | { status: 'reused'; sessionId: string };

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

  private async call(op: number, w: RequestWriter): Promise<SidecarReply> {
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

  async sCreate(sandbox: string, data: Buffer, ttlMs: number, idleMs: number, userId: string, meta: Buffer = EMPTY): Promise<CreatedSession> {
    const w = new RequestWriter(Op.S_CREATE, 64 + data.length + meta.length)
      .str(sandbox, 'sandbox')
      .bytes(data)
      .u64(ttlMs)
      .u64(idleMs)
      .str(userId, 'userId')
      .bytes(meta);
    const r = ok(Op.S_CREATE, await this.call(Op.S_CREATE, w));
    const token = r.str();
    const sessionId = r.str();
    const expiresAt = r.i64();
    r.end();
    return { token, sessionId, expiresAt };
  }

  async sResolve(sandbox: string, token: string, rotate: boolean, graceMs: number, minRotateIntervalMs: number): Promise<ResolveResult> {
    const w = new RequestWriter(Op.S_RESOLVE, 112)
      .str(sandbox, 'sandbox')
      .str(token, 'token')
      .u8(rotate ? 1 : 0)
      .u64(graceMs)
      .u64(minRotateIntervalMs);
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
    ok(Op.S_RESOLVE, reply);
    const current = r.str();
    const rotated = r.u8() === 1;
    const expiresAt = r.i64();
    const sessionId = r.str();
    const data = r.bytes();
    r.end();
    return { status: 'ok', token: current, rotated, expiresAt, sessionId, data };
  }

  /** The session's expiry, or null when the token is dead. */
  async sUpdate(sandbox: string, token: string, data: Buffer): Promise<number | null> {
    const w = new RequestWriter(Op.S_UPDATE, 96 + data.length).str(sandbox, 'sandbox').str(token, 'token').bytes(data);
    return this.i64OrNull(Op.S_UPDATE, w);
  }

  async sRevoke(sandbox: string, token: string): Promise<boolean> {
    return this.flagOp(Op.S_REVOKE, new RequestWriter(Op.S_REVOKE, 96).str(sandbox, 'sandbox').str(token, 'token'));
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

  async sRevokeAll(sandbox: string, userId: string, exceptToken: string): Promise<number> {
    const w = new RequestWriter(Op.S_REVOKE_ALL, 160).str(sandbox, 'sandbox').str(userId, 'userId').str(exceptToken, 'token');
    const r = ok(Op.S_REVOKE_ALL, await this.call(Op.S_REVOKE_ALL, w));
    const revoked = r.u32();
    r.end();
    return revoked;
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
