import { DeviceSessions } from './device-bound/device-sessions';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { fakeHttp, flushHeaders, setCookies, tokenOf } from '../test/support/http-fakes';
import type { XemsModuleOptions } from './xems.options';
import { resolveXemsOptions } from './xems.resolved-options';
import { RequestSessions } from './request-session';
import { SessionLedger } from './session-ledger';
import type { ResolveResult, SidecarApi } from './sidecar/sidecar-api';
import type { SidecarProcess } from './sidecar/sidecar-process';
import { TokenTransport } from './token-transport';
import { XemsError, XemsValidationError } from './xems.errors';
import { type XemsEvent, XemsEvents } from './xems.events';
import { XemsService } from './xems.service';
import { XemsSessions } from './xems.sessions';
import { HttpPlatformHost } from './platform/platform-host';

const FIVE_DAYS = 432_000_000;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A SidecarApi that records each call (op and arguments) and answers from `replies`. */
function fakeApi(replies: Partial<Record<keyof SidecarApi, (...args: never[]) => unknown>> = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const defaults: Partial<Record<keyof SidecarApi, (...args: never[]) => unknown>> = {
    kvSet: () => 0,
    kvGet: () => null,
    kvDel: () => false,
    kvTouch: () => 1,
    sCreate: () => ({ token: tokenOf(0, 7), sessionId: 'new-id', expiresAt: 99, csrfToken: 'csrf', evicted: [] }),
    sResolve: (): ResolveResult => ({ status: 'not_found' }),
    sRevoke: () => 'old-id',
    sUpdate: () => 50,
    sList: () => [],
  };
  const api = new Proxy({} as SidecarApi, {
    get:
      (_t, op: string) =>
      async (...args: unknown[]) => {
        calls.push([op, ...args]);
        const reply =
          (replies as Record<string, (...a: unknown[]) => unknown>)[op] ?? (defaults as Record<string, (...a: unknown[]) => unknown>)[op];
        return reply?.(...args);
      },
  });
  return { api, calls };
}

function service(options: XemsModuleOptions = {}, replies: Parameters<typeof fakeApi>[0] = {}) {
  const resolved = resolveXemsOptions(options);
  const { api, calls } = fakeApi(replies);
  const events = new XemsEvents();
  const seen: XemsEvent[] = [];
  events.events$.subscribe((e) => seen.push(e));
  const ledger = new SessionLedger();
  const transport = new TokenTransport(resolved);
  const sessions = new XemsSessions(resolved, api, events, ledger);
  const platforms = new HttpPlatformHost();
  const xems = new XemsService(
    resolved,
    events,
    {} as SidecarProcess,
    api,
    sessions,
    new RequestSessions(resolved, transport, ledger, sessions, platforms),
    transport,
    platforms,
    new DeviceSessions(resolved, api, events),
  );
  return { xems, calls, seen };
}

function capturingWarnings(): { warnings: string[]; restore(): void } {
  const warnings: string[] = [];
  const original = Logger.prototype.warn;
  Logger.prototype.warn = function (message: unknown) {
    warnings.push(String(message));
  };
  return { warnings, restore: () => (Logger.prototype.warn = original) };
}

describe('XemsService', () => {
  it('from(sandbox): JSON values, the module ttl by default, keys and sandboxes checked before the sidecar', async () => {
    const { xems, calls } = service({ ttl: '2h' });
    const store = xems.from('otp');
    await store.set('k', { a: 1 });
    assert.deepEqual(calls[0], ['kvSet', 'otp', Buffer.from('k'), json({ a: 1 }), 7_200_000]);
    await assert.rejects(store.set('', 1), (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_KEY');
    await assert.rejects(
      store.set('k', undefined),
      (e: unknown) => e instanceof XemsValidationError && e.code === 'VALUE_NOT_SERIALIZABLE',
    );
    await assert.rejects(store.set('k', 1, '0s'), (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_TTL');
    assert.throws(
      () => xems.from('bad sandbox'),
      (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_SANDBOX',
    );
    assert.equal(calls.length, 1);
  });

  it('caps a per-call TTL over 5 days to 5 days with one warning per kind of call', async () => {
    const { xems, calls } = service();
    const log = capturingWarnings();
    try {
      await xems.from('otp').set('a', 1, '10d');
      await xems.from('otp').set('b', 1, '7d');
      await xems.from('otp').touch('a', '6d');
      await xems.createSession('s', {}, { ttl: '7d' });
      const { req, res } = fakeHttp();
      await xems.link(req, res, {}, { ttl: '30d' });
    } finally {
      log.restore();
    }
    // The TTL argument: kvSet(sandbox, key, value, ttlMs), kvTouch(sandbox, key, ttlMs), sCreate(sandbox, data, ttlMs, ...).
    const ttls = calls.filter(([name]) => ['kvSet', 'kvTouch', 'sCreate'].includes(name)).map((c) => (c[0] === 'kvSet' ? c[4] : c[3]));
    assert.deepEqual(ttls, [FIVE_DAYS, FIVE_DAYS, FIVE_DAYS, FIVE_DAYS, FIVE_DAYS]);
    assert.equal(log.warnings.length, 4, log.warnings.join('\n'));
    for (const w of log.warnings) assert.match(w, /is longer than 5 days: capped to 5 days/);
  });

  it('from(sandbox).get(token) reads the session of a token-shaped key (no rotation); del(token) revokes it', async () => {
    const token = tokenOf(3);
    const { xems, calls } = service(
      {},
      {
        sResolve: (): ResolveResult => ({
          status: 'ok',
          token,
          rotated: false,
          expiresAt: 1,
          sessionId: 'sid',
          data: json({ user: 'u' }),
          flags: 0,
          mismatch: 0,
          csrfToken: '',
          auth: { authAt: 0, authMethods: 0 },
        }),
      },
    );
    assert.deepEqual(await xems.from('otp').get(token), { user: 'u' });
    assert.deepEqual(
      calls.find(([op]) => op === 'sResolve'),
      ['sResolve', 'otp', token, false, 2000, 0, { wantCsrf: false }],
    );
    assert.equal(await xems.from('otp').del(token), true);
    assert.deepEqual(calls.at(-1), ['sRevoke', 'otp', token]);
    assert.equal(await xems.from('otp').get('plain-key'), null);
  });

  it('resolveSession: durations parsed once to milliseconds; a malformed token never reaches the sidecar', async () => {
    const { xems, calls } = service();
    assert.equal(await xems.resolveSession('short'), null);
    assert.equal(calls.length, 0);
    assert.equal(
      await xems.resolveSession(tokenOf(1), { sandbox: 'api', rotate: true, gracePeriod: '5s', minRotateInterval: '1m', csrf: true }),
      null,
    );
    assert.deepEqual(calls[0], ['sResolve', 'api', tokenOf(1), true, 5000, 60_000, { wantCsrf: true }]);
    await assert.rejects(
      xems.resolveSession(tokenOf(1), { gracePeriod: '61s' }),
      (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_DURATION',
    );
  });

  it('link: revokes the presented token, creates a session recording the client, attaches it and the response carries it', async () => {
    const { xems, calls, seen } = service({ binding: { ip: 'exact' } });
    const { req, res } = fakeHttp({ cookie: `xems_token=${tokenOf(1, 5)}`, 'user-agent': 'UA/3' });
    (req as unknown as { ip: string }).ip = '192.0.2.1';
    const before = Date.now();
    const token = await xems.link(req, res, { user: 'ann' }, { userId: 'ann', device: 'laptop', methods: ['pwd', 'webauthn'] });
    assert.equal(token, tokenOf(0, 7));
    assert.deepEqual(
      calls.filter(([op]) => op === 'sRevoke').map((c) => c[2]),
      [tokenOf(1, 5)],
    );
    const create = calls.find(([op]) => op === 'sCreate')!;
    assert.equal(create[5], 'ann');
    assert.deepEqual(JSON.parse(String(create[6])).device, 'laptop');
    assert.deepEqual((create[7] as { bindIp: string; ip: string }).ip, '192.0.2.1');
    assert.deepEqual(xems.getSession(req), { user: 'ann' });
    assert.equal(xems.csrfToken(req), 'csrf');
    const ext = create[7] as { auth: { authAt: number; authMethods: number } };
    assert.ok(ext.auth.authAt >= before && ext.auth.authAt <= Date.now(), 'the login time is recorded');
    assert.equal(ext.auth.authMethods, 1 | 2_097_152, 'pwd and webauthn');
    assert.deepEqual(xems.getSessionContext(req), {
      id: 'new-id',
      sandbox: 'xems.session',
      expiresAt: 99,
      rotated: false,
      rememberMe: false,
      authenticatedAt: ext.auth.authAt,
      authMethods: ['pwd', 'webauthn'],
      deviceBound: false,
    });
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${tokenOf(0, 7)};`));
    assert.deepEqual(
      seen.map((e) => e.type),
      ['session.revoked', 'session.created'],
    );
    await assert.rejects(xems.link(req, res, {}), (e: unknown) => e instanceof XemsError && e.code === 'HEADERS_SENT');
  });

  it('updateSession(req) updates the request session too; regenerate needs a session and one of keepData / data', async () => {
    const { xems } = service();
    const { req, res } = fakeHttp();
    assert.equal(await xems.updateSession(req, { n: 1 }), false, 'no session');
    await assert.rejects(xems.regenerate(req, res), (e: unknown) => e instanceof XemsError && e.code === 'NO_SESSION');
    await xems.link(req, res, { n: 0 });
    assert.equal(await xems.updateSession(req, { n: 2 }), true);
    assert.deepEqual(xems.getSession(req), { n: 2 });
    assert.equal(xems.getSessionContext(req)?.expiresAt, 50);
    await assert.rejects(
      xems.regenerate(req, res, { keepData: true, data: {} }),
      (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_OPTIONS',
    );
  });

  it('listSessions marks the session of the request given as current, newest first', async () => {
    const { xems } = service(
      {},
      {
        sList: () => [
          { sessionId: 'old', createdAt: 1, lastSeenAt: 1, expiresAt: 9, meta: Buffer.alloc(0) },
          { sessionId: 'new-id', createdAt: 2, lastSeenAt: 2, expiresAt: 9, meta: json({ ip: '1.2.3.4', device: 'phone' }) },
        ],
      },
    );
    const { req, res } = fakeHttp();
    await xems.link(req, res, {}, { userId: 'u' });
    const list = await xems.listSessions('u', { current: req });
    assert.deepEqual(
      list.map((s) => [s.id, s.current, s.device, s.ip]),
      [
        ['new-id', true, 'phone', '1.2.3.4'],
        ['old', false, undefined, undefined],
      ],
    );
    await assert.rejects(xems.listSessions(''), (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_USER_ID');
  });
});
