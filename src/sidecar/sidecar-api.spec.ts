import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enc, fakeSidecarClient } from '../../test/support/fake-sidecar';
import { XemsProtocolError, XemsSessionLimitError } from '../xems.errors';
import { Op, Status } from './protocol';
import { SidecarApi } from './sidecar-api';

describe('SidecarApi over the client', () => {
  it('encodes S_RESOLVE and decodes OK, NOT_FOUND, REUSED and MISMATCH', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const api = new SidecarApi(client);
    const token = 'A'.repeat(70);
    const ok = api.sResolve('sb', token, true, 2000, 500);
    const nf = api.sResolve('sb', token, false, 0, 0);
    const reused = api.sResolve('sb', token, true, 0, 0);
    const mismatch = api.sResolve('sb', token, true, 0, 0, { wantCsrf: true, binding: { onMismatch: 'reject', ip: '10.0.0.1', userAgent: 'ua' } });
    await fake.waitForRequests(4);
    const body = fake.requests[0].body;
    assert.equal(fake.requests[0].op, Op.S_RESOLVE);
    assert.deepEqual(body, Buffer.concat([enc.str('sb'), enc.str(token), enc.u8(1), enc.i64(2000), enc.i64(500)]));
    assert.deepEqual(
      fake.requests[3].body,
      Buffer.concat([enc.str('sb'), enc.str(token), enc.u8(1 | 2 | 4), enc.i64(0), enc.i64(0), enc.u8(1), enc.str('10.0.0.1'), enc.str('ua')]),
    );
    const next = 'B'.repeat(70);
    fake.reply(
      fake.requests[0].id,
      Status.OK,
      Buffer.concat([enc.str(next), enc.u8(1), enc.i64(1_700_000_000_000), enc.str('sid1'), enc.bytes(Buffer.from('{"a":1}')), enc.u8(3), enc.u8(2), enc.str('csrf'), enc.i64(1_699_999_000_000), enc.u32(5)]),
    );
    fake.reply(fake.requests[1].id, Status.NOT_FOUND);
    fake.reply(fake.requests[2].id, Status.REUSED, enc.str('sid1'));
    fake.reply(fake.requests[3].id, Status.MISMATCH, Buffer.concat([enc.str('sid1'), enc.u8(1), enc.u8(0)]));
    assert.deepEqual(await ok, {
      status: 'ok',
      token: next,
      rotated: true,
      expiresAt: 1_700_000_000_000,
      sessionId: 'sid1',
      data: Buffer.from('{"a":1}'),
      flags: 3,
      mismatch: 2,
      csrfToken: 'csrf',
      auth: { authAt: 1_699_999_000_000, authMethods: 5 },
    });
    assert.deepEqual(await nf, { status: 'not_found' });
    assert.deepEqual(await reused, { status: 'reused', sessionId: 'sid1' });
    assert.deepEqual(await mismatch, { status: 'mismatch', sessionId: 'sid1', mismatch: 1, revoked: false });
  });

  it('encodes S_CREATE with and without its extension fields, S_REGENERATE, S_UPDATE with grace, and decodes their replies', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const api = new SidecarApi(client);
    const plain = api.sCreate('sb', Buffer.from('d'), 1000, 0, '', Buffer.alloc(0));
    const full = api.sCreate('sb', Buffer.from('d'), 1000, 500, 'u', Buffer.from('m'), {
      remember: true,
      maxSessions: 3,
      onLimit: 'reject',
      bindIp: 'exact',
      bindUserAgent: true,
      ip: '::1',
      userAgent: 'ua',
      auth: { authAt: 1234, authMethods: 3 },
    });
    const regen = api.sRegenerate('sb', 'T'.repeat(70), 2000, true, undefined, { authAt: 77, authMethods: 2 });
    const update = api.sUpdate('sb', 'T'.repeat(70), Buffer.from('x'), 1500);
    const revokeAll = api.sRevokeAll('sb', 'u', 'sid0');
    await fake.waitForRequests(5);
    const head = Buffer.concat([enc.str('sb'), enc.bytes(Buffer.from('d')), enc.i64(1000)]);
    assert.deepEqual(fake.requests[0].body, Buffer.concat([head, enc.i64(0), enc.str(''), enc.bytes(Buffer.alloc(0))]));
    assert.deepEqual(
      fake.requests[1].body,
      Buffer.concat([head, enc.i64(500), enc.str('u'), enc.bytes(Buffer.from('m')), enc.u8(1), enc.u32(3), enc.u8(1), enc.u8(2 | 4), enc.str('::1'), enc.str('ua'), enc.i64(1234), enc.u32(3)]),
    );
    assert.equal(fake.requests[2].op, Op.S_REGENERATE);
    assert.deepEqual(
      fake.requests[2].body,
      Buffer.concat([enc.str('sb'), enc.str('T'.repeat(70)), enc.i64(2000), enc.u8(1), enc.bytes(Buffer.alloc(0)), enc.i64(77), enc.u32(2)]),
    );
    assert.deepEqual(fake.requests[3].body, Buffer.concat([enc.str('sb'), enc.str('T'.repeat(70)), enc.bytes(Buffer.from('x')), enc.i64(1500)]));
    const created = (tok: string) => Buffer.concat([enc.str(tok), enc.str('sid'), enc.i64(5), enc.str('csrf')]);
    fake.reply(fake.requests[0].id, Status.OK, Buffer.concat([created('t1'), enc.u32(0)]));
    fake.reply(fake.requests[1].id, Status.OK, Buffer.concat([created('t2'), enc.u32(2), enc.str('old1'), enc.str('old2')]));
    fake.reply(fake.requests[2].id, Status.OK, Buffer.concat([created('t3'), enc.u8(1), enc.str('was'), enc.i64(77), enc.u32(2)]));
    fake.reply(fake.requests[3].id, Status.OK, enc.i64(9));
    fake.reply(fake.requests[4].id, Status.OK, Buffer.concat([enc.u32(1), enc.str('gone')]));
    assert.deepEqual(await plain, { token: 't1', sessionId: 'sid', expiresAt: 5, csrfToken: 'csrf', evicted: [] });
    assert.deepEqual((await full).evicted, ['old1', 'old2']);
    assert.deepEqual(await regen, {
      token: 't3',
      sessionId: 'sid',
      expiresAt: 5,
      csrfToken: 'csrf',
      flags: 1,
      oldSessionId: 'was',
      authAt: 77,
      authMethods: 2,
    });
    assert.equal(await update, 9);
    assert.deepEqual(await revokeAll, ['gone']);
  });

  it('maps LIMIT_REACHED to XemsSessionLimitError', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const api = new SidecarApi(client);
    const created = api.sCreate('sb', Buffer.from('d'), 1000, 0, 'u');
    await fake.waitForRequests(1);
    fake.replyError(fake.requests[0].id, 12, 'the user already has 2 live sessions');
    await assert.rejects(created, (e: unknown) => e instanceof XemsSessionLimitError && e.code === 'SESSION_LIMIT' && /2 live sessions/.test(e.message));
  });

  it('refuses a reply with trailing bytes as a protocol error', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const api = new SidecarApi(client);
    const has = api.kvHas('sb', Buffer.from('k'));
    await fake.waitForRequests(1);
    fake.reply(fake.requests[0].id, Status.OK, Buffer.from([1, 9]));
    await assert.rejects(has, XemsProtocolError);
  });
});
