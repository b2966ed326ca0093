import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttp, fakeSession, flushHeaders, setCookies, tokenOf } from '../test/support/http-fakes';
import type { XemsModuleOptions } from './xems.options';
import { resolveXemsOptions } from './xems.resolved-options';
import { requestClient } from './platform/express-platform';
import { RequestSessions, describeRequestSession, peekRequestState, requestSessionOf } from './request-session';
import { SessionLedger } from './session-ledger';
import type { XemsResolvedSession } from './session.types';
import { TokenTransport } from './token-transport';
import type { XemsSessions } from './xems.sessions';
import { HttpPlatformHost } from './platform/platform-host';

const REDIS: XemsModuleOptions = {
  store: { type: 'redis', url: 'redis://127.0.0.1:6379' },
  persistence: { secret: 'hex:9f1c2b7e4a6d8053c1e2f3a4b5c6d7e8091a2b3c4d5e6f708192a3b4c5d6e7f8' },
  hardwareBinding: false,
};
const P = tokenOf(1);
const at = (generation: number, fields: Partial<XemsResolvedSession> = {}) =>
  fakeSession({ id: 'sid-1', token: tokenOf(generation), ...fields });
const presented = { token: P, via: 'cookie' as const };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(options: XemsModuleOptions = {}, refresh?: (sandbox: string, token: string) => Promise<XemsResolvedSession | null>) {
  const resolved = resolveXemsOptions(options);
  const ledger = new SessionLedger();
  const calls: string[] = [];
  const sessions = {
    refresh: async (sandbox: string, token: string) => {
      calls.push(token);
      const current = await refresh!(sandbox, token);
      if (current) ledger.learn(current);
      return current;
    },
  } as unknown as XemsSessions;
  return {
    ledger,
    calls,
    requestSessions: new RequestSessions(resolved, new TokenTransport(resolved), ledger, sessions, new HttpPlatformHost()),
  };
}

/** The token cookie the response wrote, or undefined. */
function writtenToken(res: Parameters<typeof setCookies>[0]): string | undefined {
  flushHeaders(res);
  const line = setCookies(res).find((c) => c.startsWith('xems_token='));
  return line?.slice('xems_token='.length).split(';')[0];
}

describe('RequestSessions', () => {
  it('attaches the session a token resolved to, and the response carries its token (the hook installed once)', () => {
    const { requestSessions } = setup();
    const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(req, res, at(2), presented);
    requestSessions.attach(req, res, at(2), presented);
    res.setHeader('Set-Cookie', ['theme=dark; Path=/']);
    assert.equal(writtenToken(res), tokenOf(2));
    assert.equal(setCookies(res).length, 2, 'our cookie once, beside the app cookie');
    assert.deepEqual(peekRequestState(req)?.presented, presented);
    assert.equal(peekRequestState(req)?.issued, false);
  });

  it('keeps the state beside the request, not on it, and a second copy of the package sees it', () => {
    const { requestSessions } = setup();
    const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
    const keys = Reflect.ownKeys(req).length;
    requestSessions.attach(req, res, at(2), presented);
    assert.equal(Reflect.ownKeys(req).length, keys, 'no property added to the request (slow on Express requests)');
    // A second copy of the module (another copy of the package in node_modules) agrees.
    const path = require.resolve('./request-session');
    const cached = require.cache[path];
    delete require.cache[path];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module, on purpose
      const copy = require('./request-session') as typeof import('./request-session');
      assert.notEqual(copy.peekRequestState, peekRequestState, 'a separate copy');
      assert.equal(copy.requestSessionOf(req)?.token, tokenOf(2));
    } finally {
      require.cache[path] = cached;
    }
    assert.equal(requestSessionOf(fakeHttp().req), undefined);
  });

  it('peeks at and describes the request session (no token, no data in the description)', () => {
    const { requestSessions } = setup();
    const { req, res } = fakeHttp();
    assert.equal(requestSessionOf(req), undefined);
    assert.equal(describeRequestSession(req), undefined);
    const session = at(2, { data: { secret: 1 }, expiresAt: 9, rotated: true, rememberMe: true });
    requestSessions.attach(req, res, session);
    assert.equal(requestSessions.peek(req), session);
    assert.deepEqual(requestSessions.describe(req), {
      id: 'sid-1',
      sandbox: 's',
      expiresAt: 9,
      rotated: true,
      rememberMe: true,
      deviceBound: false,
    });
    assert.equal(peekRequestState(req)?.issued, true, 'no presented token: issued in this request');
  });

  it('a slow response writes the newest token a quicker request of the same session got, never its own older one', () => {
    const { requestSessions } = setup();
    const slow = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(slow.req, slow.res, at(2), presented);
    const quick = fakeHttp({ cookie: `xems_token=${tokenOf(2)}` });
    requestSessions.attach(quick.req, quick.res, at(3), { token: tokenOf(2), via: 'cookie' });
    assert.equal(writtenToken(quick.res), tokenOf(3));
    quick.res.emit('close');
    assert.equal(writtenToken(slow.res), tokenOf(3));
  });

  it('a response of a session ended meanwhile (logout elsewhere, regenerate, revoke) writes no token', () => {
    const { requestSessions, ledger } = setup();
    const slow = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(slow.req, slow.res, at(2), presented);
    ledger.end('s', 'sid-1');
    assert.equal(writtenToken(slow.res), undefined);
  });

  it('clear() makes the response clear the cookie', () => {
    const { requestSessions } = setup();
    const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(req, res, at(2), presented);
    requestSessions.clear(req, res);
    assert.equal(requestSessions.peek(req), undefined);
    assert.equal(writtenToken(res), '');
  });

  it('counts the request in the ledger until its response closes, even one that never sent headers', () => {
    const { requestSessions, ledger } = setup();
    const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(req, res, at(2), presented);
    requestSessions.attach(req, res, at(5, { id: 'sid-2' })); // link over it: moves to the new session
    assert.equal(ledger.size, 1);
    res.emit('close');
    assert.equal(ledger.size, 0);
  });

  it('updated() keeps the request copy in step only for its own session', () => {
    const { requestSessions } = setup();
    const { req, res } = fakeHttp();
    requestSessions.attach(req, res, at(2, { data: { n: 1 } }), presented);
    requestSessions.updated(req, 's', tokenOf(9), { n: 9 }, 1);
    assert.deepEqual(requestSessions.peek(req)?.data, { n: 1 }, 'another token');
    requestSessions.updated(req, 's', P, { n: 2 }, 5);
    assert.deepEqual(
      [requestSessions.peek(req)?.data, requestSessions.peek(req)?.expiresAt],
      [{ n: 2 }, 5],
      'the presented token (superseded by this request) names it too',
    );
    requestSessions.updated(undefined, 's', P, { n: 3 }, 6);
    assert.deepEqual(requestSessions.peek(req)?.data, { n: 2 });
  });

  it('needs a refresh only with the Redis store, for a session found from a presented token', () => {
    for (const [options, expected] of [
      [REDIS, true],
      [{}, false],
    ] as const) {
      const { requestSessions } = setup(options);
      const guarded = fakeHttp();
      requestSessions.attach(guarded.req, guarded.res, at(2), presented);
      const linked = fakeHttp();
      requestSessions.attach(linked.req, linked.res, at(2, { id: 'sid-3' }));
      assert.equal(requestSessions.needsRefresh(guarded.req), expected);
      assert.equal(requestSessions.needsRefresh(linked.req), false, 'an issued token is never stale');
      assert.equal(requestSessions.needsRefresh(fakeHttp().req), false);
    }
  });

  it('Redis store: a late response writes no token unless refreshed; a refresh presents the request token and writes the current one', async () => {
    const { requestSessions, calls } = setup(REDIS, async () => at(4));
    const late = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(late.req, late.res, at(2), presented);
    await sleep(5);
    assert.equal(writtenToken(late.res), undefined, 'late and not refreshed: no token');

    const refreshed = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(refreshed.req, refreshed.res, at(2), presented);
    await sleep(5);
    await requestSessions.refreshIfLate(refreshed.req);
    assert.deepEqual(calls, [P]);
    assert.equal(writtenToken(refreshed.res), tokenOf(4));

    const issued = fakeHttp();
    requestSessions.attach(issued.req, issued.res, at(1, { id: 'new' }));
    await sleep(5);
    assert.equal(writtenToken(issued.res), tokenOf(1), 'a token issued in the request is written however late');
  });

  it('Redis store: a token vouched for right before the module writes the response is written however late the headers then go', async () => {
    const { requestSessions } = setup(REDIS, async () => at(2));
    const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
    requestSessions.attach(req, res, at(2), presented);
    await requestSessions.refreshIfLate(req); // fresh, or refreshed to the same token
    await sleep(5);
    assert.equal(writtenToken(res), tokenOf(2));
  });

  it('Redis store: a refresh that finds the session gone, or fails, leaves the response without a token', async () => {
    for (const refresh of [async () => null, async () => Promise.reject(new Error('Redis down'))]) {
      const { requestSessions } = setup(REDIS, refresh);
      const { req, res } = fakeHttp({ cookie: `xems_token=${P}` });
      requestSessions.attach(req, res, at(2), presented);
      await sleep(5);
      await requestSessions.refreshIfLate(req);
      assert.equal(writtenToken(res), undefined);
    }
  });

  it('requestClient: Express req.ip, else the socket peer; the User-Agent header', () => {
    const { req } = fakeHttp({ 'user-agent': 'UA/2' });
    assert.deepEqual(requestClient(req), { ip: '', userAgent: 'UA/2' });
    (req as unknown as { ip: string }).ip = '198.51.100.4';
    assert.deepEqual(requestClient(req), { ip: '198.51.100.4', userAgent: 'UA/2' });
  });
});
