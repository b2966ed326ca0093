import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttp, flushHeaders, requestState, setCookies } from '../test/support/http-fakes';
import { serialize as serializeCookie } from 'cookie';
import type { ResolvedCookieOptions } from './options/cookie.options';
import { resolveXemsOptions } from './xems.resolved-options';
import type { XemsResolvedSession } from './session.types';
import { TokenTransport } from './token-transport';

const T1 = 'a'.repeat(70);
const T2 = 'b'.repeat(70);

describe('TokenTransport.read', () => {
  const transport = new TokenTransport(resolveXemsOptions({}));

  it('reads the cookie first, then the header', () => {
    assert.deepEqual(transport.read(fakeHttp({ cookie: `other=1; xems_token=${T1}`, 'x-xems-token': T2 }).req), {
      kind: 'token',
      token: T1,
      via: 'cookie',
    });
    assert.deepEqual(transport.read(fakeHttp({ cookie: 'other=1', 'x-xems-token': T2 }).req), { kind: 'token', token: T2, via: 'header' });
    assert.deepEqual(transport.read(fakeHttp({ 'x-xems-token': ` ${T2} ` }).req), { kind: 'token', token: T2, via: 'header' });
    assert.deepEqual(transport.read(fakeHttp({}).req), { kind: 'none' });
    assert.deepEqual(transport.read(fakeHttp({ 'x-xems-token': '' }).req), { kind: 'none' });
  });

  it('reports garbage, huge, non-ASCII and duplicated cookies as malformed', () => {
    const cases: Array<[string, string]> = [
      ['xems_token=garbage', 'malformed cookie'],
      [`xems_token=${'A'.repeat(10 * 1024)}`, 'malformed cookie'],
      [`xems_token=${'é'.repeat(35)}`, 'malformed cookie'],
      [`xems_token=${T1.slice(0, 69)}é`, 'malformed cookie'],
      [`xems_token=${T1}; xems_token=${T2}`, 'duplicated cookie'],
      [`xems_token=${T1};xems_token=${T1}`, 'duplicated cookie'],
      ['xems_token=', 'malformed cookie'],
      ['xems_token=%zz%', 'malformed cookie'],
    ];
    for (const [cookie, reason] of cases) {
      assert.deepEqual(transport.read(fakeHttp({ cookie }).req), { kind: 'malformed', via: 'cookie', reason }, cookie.slice(0, 40));
    }
    assert.equal(transport.read(fakeHttp({ 'x-xems-token': 'short' }).req).kind, 'malformed');
    assert.equal(transport.read(fakeHttp({ 'x-xems-token': [T1, T2] }).req).kind, 'malformed');
  });

  it('ignores cookies whose name merely contains ours', () => {
    assert.deepEqual(transport.read(fakeHttp({ cookie: `my_xems_token=zzz; xems_token_old=1` }).req), { kind: 'none' });
  });

  it('honours cookie: false and header: false', () => {
    const headerOnly = new TokenTransport(resolveXemsOptions({ cookie: false }));
    assert.deepEqual(headerOnly.read(fakeHttp({ cookie: `xems_token=${T1}` }).req), { kind: 'none' });
    const cookieOnly = new TokenTransport(resolveXemsOptions({ header: false }));
    assert.deepEqual(cookieOnly.read(fakeHttp({ 'x-xems-token': T1 }).req), { kind: 'none' });
  });
});

/** An active session expiring in `ms`, not remember-me, not sliding. */
function session(token: string, ms: number): XemsResolvedSession {
  return { sandbox: 's', id: 'id', token, data: {}, expiresAt: Date.now() + ms, rotated: false, rememberMe: false, sliding: false };
}

describe('TokenTransport response hook', () => {
  const options = resolveXemsOptions({ cookie: { domain: 'example.test', path: '/app' } });
  const transport = new TokenTransport(options);

  it('sends a changed token as an HttpOnly Secure SameSite cookie with no-store, keeping the app cookies', () => {
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    const state = requestState();
    state.presented = { token: T1, via: 'cookie' };
    state.via = 'cookie';
    state.session = { ...session(T2, 90_500), rememberMe: true };
    transport.arm(req, res, state);
    res.setHeader('Set-Cookie', ['theme=dark; Path=/']);
    flushHeaders(res);
    const cookies = setCookies(res);
    assert.equal(cookies.length, 2);
    assert.equal(cookies[0], 'theme=dark; Path=/');
    assert.equal(cookies[1], `xems_token=${T2}; Max-Age=90; Domain=example.test; Path=/app; HttpOnly; Secure; SameSite=Strict`);
    assert.equal(res.getHeader('cache-control'), 'no-store');
    assert.equal(res.getHeader('x-xems-token'), undefined);
  });

  it('without remember-me the cookie is a browser-session cookie (no Max-Age, no Expires)', () => {
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    const state = requestState();
    state.presented = { token: T1, via: 'cookie' };
    state.via = 'cookie';
    state.session = session(T2, 90_500);
    transport.arm(req, res, state);
    flushHeaders(res);
    assert.deepEqual(setCookies(res), [`xems_token=${T2}; Domain=example.test; Path=/app; HttpOnly; Secure; SameSite=Strict`]);
  });

  it('sends a remember-me cookie of a sliding session again when only its expiry moved', () => {
    for (const [rememberMe, sliding, sent] of [
      [true, true, true],
      [true, false, false],
      [false, true, false],
    ] as const) {
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      const state = requestState();
      state.presented = { token: T1, via: 'cookie' };
      state.via = 'cookie';
      state.session = { ...session(T1, 30_500), rememberMe, sliding };
      transport.arm(req, res, state);
      flushHeaders(res);
      assert.deepEqual(
        setCookies(res),
        sent ? [`xems_token=${T1}; Max-Age=30; Domain=example.test; Path=/app; HttpOnly; Secure; SameSite=Strict`] : [],
        `${rememberMe} ${sliding}`,
      );
    }
  });

  it('sends nothing when the token did not change', () => {
    const { req, res } = fakeHttp();
    const state = requestState();
    state.presented = { token: T1, via: 'cookie' };
    state.session = session(T1, 60_000);
    transport.arm(req, res, state);
    res.setHeader('Cache-Control', 'max-age=60');
    flushHeaders(res);
    assert.deepEqual(setCookies(res), []);
    assert.equal(res.getHeader('cache-control'), 'max-age=60');
  });

  it('answers a header client in the header, not in a cookie', () => {
    const { req, res } = fakeHttp({ 'x-xems-token': T1 });
    const state = requestState();
    state.presented = { token: T1, via: 'header' };
    state.via = 'header';
    state.session = session(T2, 60_000);
    transport.arm(req, res, state);
    flushHeaders(res);
    assert.equal(res.getHeader('x-xems-token'), T2);
    assert.deepEqual(setCookies(res), []);
    assert.equal(res.getHeader('cache-control'), 'no-store');
  });

  it('clears the cookie with the same name, path and domain, and drops the token header', () => {
    const { req, res } = fakeHttp();
    const state = requestState();
    state.cleared = true;
    transport.arm(req, res, state);
    res.setHeader('x-xems-token', T2);
    flushHeaders(res);
    const [cookie] = setCookies(res);
    assert.match(
      cookie,
      /^xems_token=; Max-Age=0; Domain=example\.test; Path=\/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/,
    );
    assert.equal(res.getHeader('x-xems-token'), undefined);
    assert.equal(res.getHeader('cache-control'), 'no-store');
  });

  it('with deviceBound, clears the bound cookie too (same path and domain), keeping the app cookies', () => {
    const bound = new TokenTransport(resolveXemsOptions({ cookie: { domain: 'example.test', path: '/app' }, deviceBound: {} }));
    const { req, res } = fakeHttp();
    const state = requestState();
    state.cleared = true;
    bound.arm(req, res, state);
    res.setHeader('Set-Cookie', 'app=1');
    flushHeaders(res);
    const cookies = setCookies(res);
    assert.equal(cookies.length, 3, cookies.join(' | '));
    assert.equal(cookies[0], 'app=1');
    assert.match(cookies[1], /^xems_token=; Max-Age=0; Domain=example\.test; Path=\/app;/);
    assert.match(
      cookies[2],
      /^xems_token_bound=; Max-Age=0; Domain=example\.test; Path=\/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure/,
    );
    // Without deviceBound, only the token cookie is cleared.
    const plain = fakeHttp();
    const st = requestState();
    st.cleared = true;
    transport.arm(plain.req, plain.res, st);
    flushHeaders(plain.res);
    assert.deepEqual(
      setCookies(plain.res).map((c) => c.split('=')[0]),
      ['xems_token'],
    );
  });

  it('writes a session cookie exactly as cookie.serialize does, for every attribute combination', () => {
    const combos = [
      {},
      { cookie: { secure: false } },
      { cookie: { sameSite: 'none' as const } },
      { cookie: { sameSite: 'lax' as const, path: '/app', domain: 'example.com', name: 'sid' } },
    ];
    for (const options of combos) {
      const resolved = resolveXemsOptions(options);
      const cookie = resolved.cookie as ResolvedCookieOptions;
      const t = new TokenTransport(resolved);
      const expected = serializeCookie(cookie.name, T1, {
        httpOnly: true,
        secure: cookie.secure,
        sameSite: cookie.sameSite,
        path: cookie.path,
        domain: cookie.domain,
      });
      assert.equal(t.tokenCookie(cookie, T1, Date.now() + 60_000, { persistent: false }), expected, JSON.stringify(options));
    }
  });

  it('never gives the cookie a Max-Age beyond the server-side expiry', () => {
    const cookie = options.cookie as Exclude<typeof options.cookie, false>;
    const now = 1_000_000;
    for (const remaining of [0, 1, 999, 1000, 1001, 59_999, 3_600_000]) {
      const line = transport.tokenCookie(cookie, T1, now + remaining, { persistent: true, now });
      const maxAge = Number(/Max-Age=(\d+)/.exec(line)![1]);
      assert.ok(maxAge * 1000 <= remaining, `${remaining} ms -> Max-Age ${maxAge}`);
      assert.ok(maxAge * 1000 > remaining - 1000);
    }
    assert.match(transport.tokenCookie(cookie, T1, now - 5000, { persistent: true, now }), /Max-Age=0/);
    assert.doesNotMatch(transport.tokenCookie(cookie, T1, now + 5000, { persistent: false, now }), /Max-Age|Expires/);
  });

  it('replies the way the client speaks', () => {
    const fresh = (headers: Record<string, string>) => {
      const { req } = fakeHttp(headers);
      return transport.replyVia(req, undefined);
    };
    assert.equal(fresh({}), 'cookie');
    assert.equal(fresh({ 'x-xems-token': '' }), 'header');
    const headerOnly = new TokenTransport(resolveXemsOptions({ cookie: false }));
    const { req } = fakeHttp({});
    assert.equal(headerOnly.replyVia(req, undefined), 'header');
  });
});
