import { XemsProtocolError, MISMATCHED_SIDECAR_HINT } from '../xems.errors';
import { BodyReader, RequestWriter } from './frame-codec';
import { ReplyDecoder, SidecarReply, asReply, opName } from './protocol';
import {
  BindMode,
  CreateFlags,
  FieldWriter,
  MismatchBits,
  Op,
  OnLimit,
  OnMismatch,
  PeekFlags,
  RegenFlags,
  ResolveFlags,
  SessionFlags,
  Status,
  decodeClearReply,
  decodeDeviceChallengeReply,
  decodeDeviceRefreshReply,
  decodeDeviceRegisterReply,
  decodeKVDelReply,
  decodeKVGetReply,
  decodeKVHasReply,
  decodeKVScanReply,
  decodeKVSetReply,
  decodeKVTTLReply,
  decodeKVTouchReply,
  decodePingReply,
  decodeSCreateReply,
  decodeSListReply,
  decodeSPeekIDReply,
  decodeSPeekMismatchReply,
  decodeSPeekReply,
  decodeSRegenerateReply,
  decodeSResolveMismatchReply,
  decodeSResolveReply,
  decodeSResolveReusedReply,
  decodeSRevokeAllReply,
  decodeSRevokeIDReply,
  decodeSRevokeOthersReply,
  decodeSRevokeSandboxReply,
  decodeSRevokeReply,
  decodeSUpdateReply,
  decodeStatsReply,
  encodeClearRequest,
  encodeDeviceChallengeRequest,
  encodeDeviceRefreshRequest,
  encodeDeviceRegisterRequest,
  encodeKVDelRequest,
  encodeKVGetRequest,
  encodeKVHasRequest,
  encodeKVScanRequest,
  encodeKVSetRequest,
  encodeKVTTLRequest,
  encodeKVTouchRequest,
  encodeSCreateRequest,
  encodeSListRequest,
  encodeSPeekIDRequest,
  encodeSPeekRequest,
  encodeSRegenerateRequest,
  encodeSResolveRequest,
  encodeSRevokeAllRequest,
  encodeSRevokeIDRequest,
  encodeSRevokeOthersRequest,
  encodeSRevokeRequest,
  encodeSRevokeSandboxRequest,
  encodeSUpdateRequest,
} from './stdio-protocol.gen';

import type {
  KvEntry,
  CreatedSession,
  CreateSessionExt,
  SidecarAuth,
  BindingCheck,
  ResolveExt,
  ResolveResult,
  RegeneratedSession,
  ListedSession,
  DeviceProofResult,
  PeekedSession,
  PeekResult,
} from './sidecar-api.types';

/** Anything that can carry one request to the sidecar and bring its reply back, decoded by `decode` as it is read. */
export interface SidecarTransport {
  send<T>(op: number, frame: Buffer, decode: ReplyDecoder<T>): Promise<T>;
}

/** Session flags reported by S_RESOLVE and S_REGENERATE; mismatch bits of a binding check. */
export { MismatchBits, SessionFlags };

export type {
  KvEntry,
  CreatedSession,
  CreateSessionExt,
  SidecarAuth,
  BindingCheck,
  ResolveExt,
  ResolveResult,
  RegeneratedSession,
  ListedSession,
  DeviceProofResult,
  PeekedSession,
  PeekResult,
} from './sidecar-api.types';

const EMPTY = Buffer.alloc(0);

const BIND_IP: Record<CreateSessionExt['bindIp'], number> = { off: BindMode.OFF, subnet: BindMode.SUBNET, exact: BindMode.EXACT };
const ON_MISMATCH: Record<BindingCheck['onMismatch'], number> = { revoke: OnMismatch.REVOKE, reject: OnMismatch.REJECT, log: OnMismatch.LOG };

function unexpected(op: number, status: number): XemsProtocolError {
  return new XemsProtocolError('BAD_REPLY', `Unexpected status ${status} in the reply to ${opName(op)}`, MISMATCHED_SIDECAR_HINT);
}

/** Expects OK and returns the body reader; NOT_FOUND yields null where the op allows it. */
function okOrNull(op: number, reply: SidecarReply): BodyReader | null {
  if (reply.status === Status.OK) return reply.body;
  if (reply.status === Status.NOT_FOUND) {
    reply.body.end();
    return null;
  }
  throw unexpected(op, reply.status);
}

function ok(op: number, reply: SidecarReply): BodyReader {
  if (reply.status === Status.OK) return reply.body;
  throw unexpected(op, reply.status);
}

/** A request frame of `op` whose body the table's encoder writes (sizeHint: the body's likely size). */
function frame<T>(op: number, sizeHint: number, encode: (w: FieldWriter, req: T) => void, req: T): RequestWriter {
  const w = new RequestWriter(op, sizeHint);
  encode(w, req);
  return w;
}

/**
 * The typed operations of docs/protocol.md: each method encodes its request and decodes its
 * reply with the codecs generated from the protocol table (stdio-protocol.gen.ts) and maps
 * them to the shapes XemsService uses. Keys, values and session data are raw bytes here; JSON
 * lives in XemsService. A new operation is one table entry, its Go handler and a method here.
 */
export class SidecarApi {
  constructor(private readonly transport: SidecarTransport) {}

  protected call(op: number, w: RequestWriter): Promise<SidecarReply> {
    return this.send(op, w, asReply);
  }

  // Not async: an async wrapper would add a promise and a microtask hop to every call.
  // Protected: InstrumentedSidecarApi (src/telemetry/) observes every call here (call() goes through send()).
  protected send<T>(op: number, w: RequestWriter, decode: ReplyDecoder<T>): Promise<T> {
    return this.transport.send(op, w.finish(), decode);
  }

  async ping(): Promise<void> {
    decodePingReply(ok(Op.PING, await this.call(Op.PING, new RequestWriter(Op.PING, 0))));
  }

  async stats(): Promise<unknown> {
    const { statsJson } = decodeStatsReply(ok(Op.STATS, await this.call(Op.STATS, new RequestWriter(Op.STATS, 0))));
    return JSON.parse(statsJson.toString('utf8'));
  }

  async kvSet(sandbox: string, key: Buffer, value: Buffer, ttlMs: number): Promise<number> {
    const w = frame(Op.KV_SET, 32 + key.length + value.length, encodeKVSetRequest, { sandbox, key, value, ttlMs });
    return decodeKVSetReply(ok(Op.KV_SET, await this.call(Op.KV_SET, w))).expiresAt;
  }

  async kvGet(sandbox: string, key: Buffer): Promise<KvEntry | null> {
    const r = okOrNull(Op.KV_GET, await this.call(Op.KV_GET, frame(Op.KV_GET, 16 + key.length, encodeKVGetRequest, { sandbox, key })));
    return r && decodeKVGetReply(r);
  }

  async kvDel(sandbox: string, key: Buffer): Promise<boolean> {
    const reply = await this.call(Op.KV_DEL, frame(Op.KV_DEL, 16 + key.length, encodeKVDelRequest, { sandbox, key }));
    return decodeKVDelReply(ok(Op.KV_DEL, reply)).existed === 1;
  }

  async kvHas(sandbox: string, key: Buffer): Promise<boolean> {
    const reply = await this.call(Op.KV_HAS, frame(Op.KV_HAS, 16 + key.length, encodeKVHasRequest, { sandbox, key }));
    return decodeKVHasReply(ok(Op.KV_HAS, reply)).exists === 1;
  }

  /** Remaining milliseconds, or null when the key is absent. */
  async kvTtl(sandbox: string, key: Buffer): Promise<number | null> {
    const r = okOrNull(Op.KV_TTL, await this.call(Op.KV_TTL, frame(Op.KV_TTL, 16 + key.length, encodeKVTTLRequest, { sandbox, key })));
    return r && decodeKVTTLReply(r).remainingMs;
  }

  /** The new expiry, or null when the key is absent. */
  async kvTouch(sandbox: string, key: Buffer, ttlMs: number): Promise<number | null> {
    const w = frame(Op.KV_TOUCH, 24 + key.length, encodeKVTouchRequest, { sandbox, key, ttlMs });
    const r = okOrNull(Op.KV_TOUCH, await this.call(Op.KV_TOUCH, w));
    return r && decodeKVTouchReply(r).expiresAt;
  }

  async kvScan(sandbox: string, prefix: Buffer, cursor: string, limit: number): Promise<{ nextCursor: string; keys: Buffer[] }> {
    const w = frame(Op.KV_SCAN, 32 + prefix.length, encodeKVScanRequest, { sandbox, prefix, cursor, limit });
    return decodeKVScanReply(ok(Op.KV_SCAN, await this.call(Op.KV_SCAN, w)));
  }

  async clear(sandbox: string): Promise<number> {
    return decodeClearReply(ok(Op.CLEAR, await this.call(Op.CLEAR, frame(Op.CLEAR, 16, encodeClearRequest, { sandbox })))).removed;
  }

  async sCreate(sandbox: string, data: Buffer, ttlMs: number, idleMs: number, userId: string, meta: Buffer = EMPTY, ext?: CreateSessionExt): Promise<CreatedSession> {
    const w = frame(Op.S_CREATE, 64 + data.length + meta.length + (ext ? 16 + ext.ip.length + ext.userAgent.length * 3 : 0), encodeSCreateRequest, {
      sandbox,
      data,
      ttlMs,
      idleMs,
      userId,
      meta,
      ext: ext && {
        createFlags: ext.remember ? CreateFlags.REMEMBER : 0,
        maxSessions: ext.maxSessions,
        onLimit: ext.onLimit === 'reject' ? OnLimit.REJECT : OnLimit.EVICT_OLDEST,
        bindMode: BIND_IP[ext.bindIp] | (ext.bindUserAgent ? BindMode.USER_AGENT : 0),
        ip: ext.ip,
        userAgent: ext.userAgent,
        authAt: ext.auth?.authAt ?? 0,
        authMethods: ext.auth?.authMethods ?? 0,
      },
    });
    return decodeSCreateReply(ok(Op.S_CREATE, await this.call(Op.S_CREATE, w)));
  }

  sResolve(sandbox: string, token: string, rotate: boolean, graceMs: number, minRotateIntervalMs: number, ext: ResolveExt = {}): Promise<ResolveResult> {
    const binding = ext.binding;
    const flags = (rotate ? ResolveFlags.ROTATE : 0) | (binding ? ResolveFlags.CHECK_BINDING : 0) | (ext.wantCsrf ? ResolveFlags.WANT_CSRF : 0);
    const w = frame(Op.S_RESOLVE, 112 + (binding ? 8 + binding.ip.length + binding.userAgent.length * 3 : 0), encodeSResolveRequest, {
      sandbox,
      token,
      flags,
      graceMs,
      minRotateIntervalMs,
      binding: binding && { onMismatch: ON_MISMATCH[binding.onMismatch], ip: binding.ip, userAgent: binding.userAgent },
    });
    // On every guarded request: decoded as the reply is read, no then() or await of its own.
    return this.send(Op.S_RESOLVE, w, resolveResultOf);
  }

  /** The session's expiry, or null when the token is dead (or superseded graceMs or more ago). */
  async sUpdate(sandbox: string, token: string, data: Buffer, graceMs: number): Promise<number | null> {
    const w = frame(Op.S_UPDATE, 104 + data.length, encodeSUpdateRequest, { sandbox, token, data, ext: { graceMs } });
    const r = okOrNull(Op.S_UPDATE, await this.call(Op.S_UPDATE, w));
    return r && decodeSUpdateReply(r).expiresAt;
  }

  /** The revoked session's id, or null when no live session had that token. */
  async sRevoke(sandbox: string, token: string): Promise<string | null> {
    const reply = await this.call(Op.S_REVOKE, frame(Op.S_REVOKE, 96, encodeSRevokeRequest, { sandbox, token }));
    const { existed, sessionId } = decodeSRevokeReply(ok(Op.S_REVOKE, reply));
    return existed === 1 ? sessionId : null;
  }

  /**
   * Replaces the session of `token` by a new one (new token, id and CSRF token); keepData, or
   * `data` for the new session. With `auth` (a reauthentication) the new session gets that
   * authentication record, else it keeps the old one's. Null when the token is dead.
   */
  async sRegenerate(
    sandbox: string,
    token: string,
    graceMs: number,
    keepData: boolean,
    data: Buffer = EMPTY,
    auth?: SidecarAuth,
  ): Promise<RegeneratedSession | null> {
    const w = frame(Op.S_REGENERATE, 128 + data.length, encodeSRegenerateRequest, {
      sandbox,
      token,
      graceMs,
      flags: keepData ? RegenFlags.KEEP_DATA : 0,
      data: keepData ? EMPTY : data,
      ext: auth,
    });
    const r = okOrNull(Op.S_REGENERATE, await this.call(Op.S_REGENERATE, w));
    if (!r) return null;
    const { sessionFlags, ...rest } = decodeSRegenerateReply(r);
    return { ...rest, flags: sessionFlags };
  }

  async sList(sandbox: string, userId: string): Promise<ListedSession[]> {
    const reply = await this.call(Op.S_LIST, frame(Op.S_LIST, 96, encodeSListRequest, { sandbox, userId }));
    return decodeSListReply(ok(Op.S_LIST, reply)).sessions;
  }

  /** Revokes every session of userId but the one `except` (a token or a session id) names; returns the revoked ids. */
  async sRevokeAll(sandbox: string, userId: string, except: string): Promise<string[]> {
    const reply = await this.call(Op.S_REVOKE_ALL, frame(Op.S_REVOKE_ALL, 160, encodeSRevokeAllRequest, { sandbox, userId, except }));
    return decodeSRevokeAllReply(ok(Op.S_REVOKE_ALL, reply)).revoked;
  }

  /** Ends every session of the sandbox (KV records stay); how many there were. */
  async sRevokeSandbox(sandbox: string): Promise<number> {
    const reply = await this.call(Op.S_REVOKE_SANDBOX, frame(Op.S_REVOKE_SANDBOX, 80, encodeSRevokeSandboxRequest, { sandbox }));
    return decodeSRevokeSandboxReply(ok(Op.S_REVOKE_SANDBOX, reply)).revoked;
  }

  /** Ends every other session of the user of `token`'s session; the revoked ids. */
  async sRevokeOthers(sandbox: string, token: string): Promise<string[]> {
    const reply = await this.call(Op.S_REVOKE_OTHERS, frame(Op.S_REVOKE_OTHERS, 160, encodeSRevokeOthersRequest, { sandbox, token }));
    return decodeSRevokeOthersReply(ok(Op.S_REVOKE_OTHERS, reply)).revoked;
  }

  async sRevokeId(sandbox: string, sessionId: string): Promise<boolean> {
    const reply = await this.call(Op.S_REVOKE_ID, frame(Op.S_REVOKE_ID, 96, encodeSRevokeIDRequest, { sandbox, sessionId }));
    return decodeSRevokeIDReply(ok(Op.S_REVOKE_ID, reply)).existed === 1;
  }

  /**
   * The live session of a token S_RESOLVE would accept with graceMs, changed in nothing: no
   * presentation, no rotation, no idle slide, never reuse (null for any other token). With
   * `binding`, a client that does not match is refused (`mismatch`) whatever the action but
   * 'log', and never revoked. A device-bound session past its proof deadline rejects with
   * XemsDeviceProofError DEVICE_PROOF_OVERDUE, as S_RESOLVE does.
   */
  async sPeek(sandbox: string, token: string, graceMs: number, binding?: BindingCheck): Promise<PeekResult | null> {
    const w = frame(Op.S_PEEK, 112 + (binding ? 8 + binding.ip.length + binding.userAgent.length * 3 : 0), encodeSPeekRequest, {
      sandbox,
      token,
      graceMs,
      flags: binding ? PeekFlags.CHECK_BINDING : 0,
      binding: binding && { onMismatch: ON_MISMATCH[binding.onMismatch], ip: binding.ip, userAgent: binding.userAgent },
    });
    const reply = await this.call(Op.S_PEEK, w);
    if (reply.status === Status.MISMATCH) return { status: 'mismatch', ...decodeSPeekMismatchReply(reply.body) };
    const r = okOrNull(Op.S_PEEK, reply);
    return r && { status: 'ok', ...decodeSPeekReply(r) };
  }

  /** The live session with this public id, changed in nothing (null when it has ended). */
  async sPeekId(sandbox: string, sessionId: string): Promise<PeekedSession | null> {
    const r = okOrNull(Op.S_PEEK_ID, await this.call(Op.S_PEEK_ID, frame(Op.S_PEEK_ID, 96, encodeSPeekIDRequest, { sandbox, sessionId })));
    return r && decodeSPeekIDReply(r);
  }

  /** A new DBSC challenge for the session of `token` (registration or refresh); null when the token is dead. */
  async deviceChallenge(sandbox: string, token: string, graceMs: number): Promise<{ challenge: string; sessionId: string; bound: boolean } | null> {
    const w = frame(Op.DEVICE_CHALLENGE, 96, encodeDeviceChallengeRequest, { sandbox, token, graceMs });
    const r = okOrNull(Op.DEVICE_CHALLENGE, await this.call(Op.DEVICE_CHALLENGE, w));
    if (!r) return null;
    const { challenge, sessionId, deviceBound } = decodeDeviceChallengeReply(r);
    return { challenge, sessionId, bound: deviceBound === 1 };
  }

  /**
   * Verifies a registration proof (compact JWS) and binds its key to the session of `token`.
   * Null when the token is dead; XemsDeviceProofError when the proof is refused.
   */
  async deviceRegister(sandbox: string, token: string, graceMs: number, proof: string, algs: number, lifetimeMs: number): Promise<DeviceProofResult | null> {
    const w = frame(Op.DEVICE_REGISTER, 128 + proof.length, encodeDeviceRegisterRequest, { sandbox, token, graceMs, proof, algs, lifetimeMs });
    const r = okOrNull(Op.DEVICE_REGISTER, await this.call(Op.DEVICE_REGISTER, w));
    return r && decodeDeviceRegisterReply(r);
  }

  /** Verifies a refresh proof with the session's key and moves its proof deadline; as deviceRegister. */
  async deviceRefresh(sandbox: string, token: string, graceMs: number, proof: string, lifetimeMs: number): Promise<DeviceProofResult | null> {
    const w = frame(Op.DEVICE_REFRESH, 128 + proof.length, encodeDeviceRefreshRequest, { sandbox, token, graceMs, proof, lifetimeMs });
    const r = okOrNull(Op.DEVICE_REFRESH, await this.call(Op.DEVICE_REFRESH, w));
    return r && decodeDeviceRefreshReply(r);
  }
}

/** The outcome of an S_RESOLVE reply. */
function resolveResultOf(status: number, body: BodyReader): ResolveResult {
  switch (status) {
    case Status.NOT_FOUND:
      body.end();
      return { status: 'not_found' };
    case Status.REUSED:
      return { status: 'reused', sessionId: decodeSResolveReusedReply(body).sessionId };
    case Status.MISMATCH: {
      const m = decodeSResolveMismatchReply(body);
      return { status: 'mismatch', sessionId: m.sessionId, mismatch: m.mismatch, revoked: m.revoked === 1 };
    }
  }
  if (status !== Status.OK) throw unexpected(Op.S_RESOLVE, status);
  const r = decodeSResolveReply(body);
  return {
    status: 'ok',
    token: r.token,
    rotated: r.rotated === 1,
    expiresAt: r.expiresAt,
    sessionId: r.sessionId,
    data: r.data,
    flags: r.sessionFlags,
    mismatch: r.mismatch,
    csrfToken: r.csrfToken,
    auth: { authAt: r.authAt, authMethods: r.authMethods },
  };
}
