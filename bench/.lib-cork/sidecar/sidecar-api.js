"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.SidecarApi = void 0;
const xems_errors_1 = require("../xems.errors");
const frame_codec_1 = require("./frame-codec");
const protocol_1 = require("./protocol");
const EMPTY = Buffer.alloc(0);
function unexpected(op, status) {
    return new xems_errors_1.XemsProtocolError('BAD_REPLY', `Unexpected status ${status} in the reply to ${(0, protocol_1.opName)(op)}`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
}
/** Expects OK and returns the body reader; NOT_FOUND yields null where the op allows it. */
function okOrNull(op, reply) {
    if (reply.status === protocol_1.Status.OK)
        return reply.body;
    if (reply.status === protocol_1.Status.NOT_FOUND)
        return null;
    throw unexpected(op, reply.status);
}
function ok(op, reply) {
    if (reply.status === protocol_1.Status.OK)
        return reply.body;
    throw unexpected(op, reply.status);
}
/**
 * The typed operations of docs/protocol.md: encodes each request body and decodes each reply
 * body. Keys, values and session data are raw bytes here; JSON lives in XemsService.
 */
class SidecarApi {
    transport;
    constructor(transport) {
        this.transport = transport;
    }
    async call(op, w) {
        return this.transport.request(op, w.finish());
    }
    async ping() {
        ok(protocol_1.Op.PING, await this.call(protocol_1.Op.PING, new frame_codec_1.RequestWriter(protocol_1.Op.PING, 0))).end();
    }
    async stats() {
        const r = ok(protocol_1.Op.STATS, await this.call(protocol_1.Op.STATS, new frame_codec_1.RequestWriter(protocol_1.Op.STATS, 0)));
        const json = r.bytes();
        r.end();
        return JSON.parse(json.toString('utf8'));
    }
    async kvSet(sandbox, key, value, ttlMs) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.KV_SET, 32 + key.length + value.length).str(sandbox, 'sandbox').bytes(key).bytes(value).u64(ttlMs);
        const r = ok(protocol_1.Op.KV_SET, await this.call(protocol_1.Op.KV_SET, w));
        const expiresAt = r.i64();
        r.end();
        return expiresAt;
    }
    async kvGet(sandbox, key) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.KV_GET, 16 + key.length).str(sandbox, 'sandbox').bytes(key);
        const r = okOrNull(protocol_1.Op.KV_GET, await this.call(protocol_1.Op.KV_GET, w));
        if (!r)
            return null;
        const value = r.bytes();
        const expiresAt = r.i64();
        r.end();
        return { value, expiresAt };
    }
    async kvDel(sandbox, key) {
        return this.flagOp(protocol_1.Op.KV_DEL, new frame_codec_1.RequestWriter(protocol_1.Op.KV_DEL, 16 + key.length).str(sandbox, 'sandbox').bytes(key));
    }
    async kvHas(sandbox, key) {
        return this.flagOp(protocol_1.Op.KV_HAS, new frame_codec_1.RequestWriter(protocol_1.Op.KV_HAS, 16 + key.length).str(sandbox, 'sandbox').bytes(key));
    }
    /** Remaining milliseconds, or null when the key is absent. */
    async kvTtl(sandbox, key) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.KV_TTL, 16 + key.length).str(sandbox, 'sandbox').bytes(key);
        return this.i64OrNull(protocol_1.Op.KV_TTL, w);
    }
    /** The new expiry, or null when the key is absent. */
    async kvTouch(sandbox, key, ttlMs) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.KV_TOUCH, 24 + key.length).str(sandbox, 'sandbox').bytes(key).u64(ttlMs);
        return this.i64OrNull(protocol_1.Op.KV_TOUCH, w);
    }
    async kvScan(sandbox, prefix, cursor, limit) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.KV_SCAN, 32 + prefix.length).str(sandbox, 'sandbox').bytes(prefix).str(cursor, 'cursor').u32(limit);
        const r = ok(protocol_1.Op.KV_SCAN, await this.call(protocol_1.Op.KV_SCAN, w));
        const nextCursor = r.str();
        const n = r.u32();
        const keys = [];
        for (let i = 0; i < n; i++)
            keys.push(r.bytes());
        r.end();
        return { nextCursor, keys };
    }
    async clear(sandbox) {
        const r = ok(protocol_1.Op.CLEAR, await this.call(protocol_1.Op.CLEAR, new frame_codec_1.RequestWriter(protocol_1.Op.CLEAR, 16).str(sandbox, 'sandbox')));
        const removed = r.u64();
        r.end();
        return removed;
    }
    async sCreate(sandbox, data, ttlMs, idleMs, userId, meta = EMPTY) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.S_CREATE, 64 + data.length + meta.length)
            .str(sandbox, 'sandbox')
            .bytes(data)
            .u64(ttlMs)
            .u64(idleMs)
            .str(userId, 'userId')
            .bytes(meta);
        const r = ok(protocol_1.Op.S_CREATE, await this.call(protocol_1.Op.S_CREATE, w));
        const token = r.str();
        const sessionId = r.str();
        const expiresAt = r.i64();
        r.end();
        return { token, sessionId, expiresAt };
    }
    async sResolve(sandbox, token, rotate, graceMs, minRotateIntervalMs) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.S_RESOLVE, 112)
            .str(sandbox, 'sandbox')
            .str(token, 'token')
            .u8(rotate ? 1 : 0)
            .u64(graceMs)
            .u64(minRotateIntervalMs);
        const reply = await this.call(protocol_1.Op.S_RESOLVE, w);
        const r = reply.body;
        if (reply.status === protocol_1.Status.NOT_FOUND) {
            r.end();
            return { status: 'not_found' };
        }
        if (reply.status === protocol_1.Status.REUSED) {
            const sessionId = r.str();
            r.end();
            return { status: 'reused', sessionId };
        }
        ok(protocol_1.Op.S_RESOLVE, reply);
        const current = r.str();
        const rotated = r.u8() === 1;
        const expiresAt = r.i64();
        const sessionId = r.str();
        const data = r.bytes();
        r.end();
        return { status: 'ok', token: current, rotated, expiresAt, sessionId, data };
    }
    /** The session's expiry, or null when the token is dead. */
    async sUpdate(sandbox, token, data) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.S_UPDATE, 96 + data.length).str(sandbox, 'sandbox').str(token, 'token').bytes(data);
        return this.i64OrNull(protocol_1.Op.S_UPDATE, w);
    }
    async sRevoke(sandbox, token) {
        return this.flagOp(protocol_1.Op.S_REVOKE, new frame_codec_1.RequestWriter(protocol_1.Op.S_REVOKE, 96).str(sandbox, 'sandbox').str(token, 'token'));
    }
    async sList(sandbox, userId) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.S_LIST, 96).str(sandbox, 'sandbox').str(userId, 'userId');
        const r = ok(protocol_1.Op.S_LIST, await this.call(protocol_1.Op.S_LIST, w));
        const n = r.u32();
        const sessions = [];
        for (let i = 0; i < n; i++) {
            sessions.push({ sessionId: r.str(), createdAt: r.i64(), lastSeenAt: r.i64(), expiresAt: r.i64(), meta: r.bytes() });
        }
        r.end();
        return sessions;
    }
    async sRevokeAll(sandbox, userId, exceptToken) {
        const w = new frame_codec_1.RequestWriter(protocol_1.Op.S_REVOKE_ALL, 160).str(sandbox, 'sandbox').str(userId, 'userId').str(exceptToken, 'token');
        const r = ok(protocol_1.Op.S_REVOKE_ALL, await this.call(protocol_1.Op.S_REVOKE_ALL, w));
        const revoked = r.u32();
        r.end();
        return revoked;
    }
    async sRevokeId(sandbox, sessionId) {
        return this.flagOp(protocol_1.Op.S_REVOKE_ID, new frame_codec_1.RequestWriter(protocol_1.Op.S_REVOKE_ID, 96).str(sandbox, 'sandbox').str(sessionId, 'sessionId'));
    }
    async flagOp(op, w) {
        const r = ok(op, await this.call(op, w));
        const flag = r.u8();
        r.end();
        return flag === 1;
    }
    async i64OrNull(op, w) {
        const r = okOrNull(op, await this.call(op, w));
        if (!r)
            return null;
        const v = r.i64();
        r.end();
        return v;
    }
}
exports.SidecarApi = SidecarApi;
//# sourceMappingURL=sidecar-api.js.map