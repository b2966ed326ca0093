import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { XemsValidationError } from '../src';
import { PLATFORMS, TestApp, cookieAttributes, cookieToken, createTestApp, setCookieLine, sleep } from './support/xems-test-app';

const TOKEN = /^[A-Za-z0-9_-]{70}$/;

async function login(t: TestApp, body: Record<string, unknown> = {}, cookie?: string): Promise<string> {
  const req = request(t.server).post('/login').send(body);
  if (cookie) req.set('Cookie', `xems_token=${cookie}`);
  const res = await req;
  assert.equal(res.status, 200);
  const token = cookieToken(res);
  assert.ok(token && TOKEN.test(token), 'login sets a token cookie');
  return token;
}

function me(t: TestApp, token: string, path = '/me') {
  return request(t.server).get(path).set('Cookie', `xems_token=${token}`);
}

/** Sends raw bytes (e.g. UTF-8 in a header, which HTTP clients refuse to send) and returns the status. */
function rawStatus(t: TestApp, head: Buffer): Promise<number> {
  const { port } = t.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
    socket.write(head);
  });
}

for (const platform of PLATFORMS) {
  describe(`sessions against the real sidecar (${platform})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({}, platform);
    });
    after(async () => {
      await t.close();
    });

    it('login via link() sets a secure browser-session cookie (no Max-Age, no Expires) by default', async () => {
      const res = await request(t.server).post('/login').send({ user: 'ann' });
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.session,
        { user: 'ann', email: 'ann@example.test', n: 0 },
        'the new session is visible in the same request',
      );
      const line = setCookieLine(res)!;
      const attrs = cookieAttributes(line);
      assert.ok(attrs.has('httponly'));
      assert.ok(attrs.has('secure'));
      assert.equal(attrs.get('samesite'), 'Strict');
      assert.equal(attrs.get('path'), '/');
      assert.ok(!attrs.has('max-age') && !attrs.has('expires'), line);
      assert.equal(res.headers['cache-control'], 'no-store');
      const rotated = await me(t, cookieToken(res)!);
      assert.ok(!cookieAttributes(setCookieLine(rotated)!).has('max-age'), 'rotated cookies stay browser-session cookies');
    });

    it('login with rememberMe sets a persistent cookie whose Max-Age stays within the session', async () => {
      const started = Date.now();
      const res = await request(t.server).post('/login').send({ user: 'ann', rememberMe: true });
      assert.equal(res.status, 200);
      const line = setCookieLine(res)!;
      const attrs = cookieAttributes(line);
      assert.ok(attrs.has('httponly') && attrs.has('secure'));
      const maxAge = Number(attrs.get('max-age'));
      assert.ok(maxAge <= 3600 && maxAge >= 3598, `Max-Age ${maxAge}`);
      assert.equal(res.headers['cache-control'], 'no-store');
      const token = cookieToken(res)!;
      const session = await t.xems.resolveSession(token);
      assert.ok(session);
      assert.ok(maxAge * 1000 <= session.expiresAt - started, 'the cookie never outlives the server-side session');
      const rotated = setCookieLine(await me(t, token))!;
      const again = Number(cookieAttributes(rotated).get('max-age'));
      assert.ok(again <= maxAge && again >= maxAge - 2, `a rotated remember-me cookie keeps counting down: ${again}`);
    });

    it('/me works with the cookie and rotates the token on every request', async () => {
      let token = await login(t, { user: 'bea' });
      const seen = new Set([token]);
      for (let i = 0; i < 5; i++) {
        const res = await me(t, token);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { user: 'bea', email: 'bea@example.test' });
        const next = cookieToken(res);
        assert.ok(next && TOKEN.test(next), 'each response carries a new token');
        assert.ok(!seen.has(next), 'never a token seen before');
        assert.equal(res.headers['cache-control'], 'no-store');
        seen.add(next);
        token = next;
      }
    });

    it('/me works with the header, answering in the header (no cookie)', async () => {
      const loginRes = await request(t.server).post('/login').set('x-xems-token', '').send({ user: 'hal' });
      assert.equal(loginRes.status, 200);
      assert.equal(setCookieLine(loginRes), undefined, 'a header client gets no cookie');
      let token = loginRes.headers['x-xems-token'] as string;
      assert.match(token, TOKEN);
      for (let i = 0; i < 2; i++) {
        const res = await request(t.server).get('/me').set('x-xems-token', token);
        assert.equal(res.status, 200);
        assert.equal(res.body.user, 'hal');
        assert.equal(setCookieLine(res), undefined);
        const next = res.headers['x-xems-token'] as string;
        assert.match(next, TOKEN);
        assert.notEqual(next, token);
        assert.equal(res.headers['cache-control'], 'no-store');
        token = next;
      }
    });

    it('a token inside its grace period still works and returns the current token', async () => {
      const t0 = await login(t, { user: 'gus' });
      const r1 = await me(t, t0);
      const t1 = cookieToken(r1)!;
      assert.notEqual(t1, t0);
      const again = await me(t, t0);
      assert.equal(again.status, 200);
      assert.equal(cookieToken(again), t1, 'the grace token gets the current token, not a new one');
      const r2 = await me(t, t1);
      const t2 = cookieToken(r2)!;
      assert.notEqual(t2, t1);
      const old = await me(t, t0);
      assert.equal(old.status, 200);
      assert.equal(cookieToken(old), t2, 'an older token in grace walks forward to the current one');
    });

    it('50 concurrent requests with one token all succeed with one successor', async () => {
      const token = await login(t, { user: 'con' });
      const before = (await t.xems.stats()) as { rotations: number };
      const responses = await Promise.all(Array.from({ length: 50 }, () => me(t, token, '/me/slow?ms=20')));
      const statuses = responses.map((r) => r.status);
      assert.deepEqual([...new Set(statuses)], [200], `statuses: ${statuses.join(',')}`);
      const successors = new Set(responses.map((r) => cookieToken(r)));
      assert.equal(successors.size, 1, 'every response carries the same successor');
      const [successor] = successors;
      assert.ok(successor && successor !== token);
      const afterStats = (await t.xems.stats()) as { rotations: number };
      assert.equal(afterStats.rotations - before.rotations, 1, 'exactly one rotation happened');
      assert.equal((await me(t, successor)).status, 200);
    });

    it('every response path of a guarded route carries the rotated token', async () => {
      let token = await login(t, { user: 'pat' });
      const paths: Array<[string, number]> = [
        ['/me/redirect', 302],
        ['/me/throw', 403],
        ['/me/file', 200],
        ['/me/raw', 201],
        ['/me/stream', 200],
        ['/me/node', 202],
      ];
      for (const [path, status] of paths) {
        const res = await me(t, token, path);
        assert.equal(res.status, status, path);
        if (path === '/me/stream') assert.equal(res.text, 'chunk-1,chunk-2');
        if (path === '/me/node') assert.equal(res.text, 'written by hand');
        const next = cookieToken(res);
        assert.ok(next && next !== token, `${path} carries the successor`);
        assert.equal(res.headers['cache-control'], 'no-store', path);
        token = next;
      }
      assert.equal((await me(t, token)).status, 200);
    });

    it('updateSession(req, data) persists and @Session() data follows it', async () => {
      let token = await login(t, { user: 'cnt' });
      for (const expected of [1, 2, 3]) {
        const res = await request(t.server).post('/me/count').set('Cookie', `xems_token=${token}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { updated: true, n: expected });
        token = cookieToken(res)!;
      }
    });

    it('reuse of a superseded token after the grace period -> 401 and the whole session is dead', async () => {
      const short = await createTestApp({ gracePeriod: 200 }, platform);
      try {
        const t0 = await login(short, { user: 'eve' });
        const t1 = cookieToken(await me(short, t0))!;
        await sleep(350);
        // t1 was never presented: t0 is the token of a client that missed its answer, not a theft.
        const late = await me(short, t0);
        assert.equal(late.status, 200, 'a token whose successor was never presented still works');
        assert.equal(cookieToken(late), t1, 'and gets the current token back');
        const t2 = cookieToken(await me(short, t1))!; // the successor is presented: t0 is now superseded for good
        await sleep(350);
        const reused = await me(short, t0);
        assert.equal(reused.status, 401);
        assert.equal(setCookieLine(reused), undefined);
        assert.equal((await me(short, t2)).status, 401, 'the thief and the owner both lose the session');
      } finally {
        await short.close();
      }
    });

    it('logout via unlink() clears the cookie and kills the token and grace tokens', async () => {
      const t0 = await login(t, { user: 'out' });
      const t1 = cookieToken(await me(t, t0))!;
      const res = await request(t.server).post('/me/logout').set('Cookie', `xems_token=${t1}`);
      assert.equal(res.status, 200);
      const line = setCookieLine(res)!;
      const attrs = cookieAttributes(line);
      assert.ok(line.startsWith('xems_token=;'), line);
      assert.equal(attrs.get('max-age'), '0');
      assert.equal(attrs.get('path'), '/');
      assert.ok(attrs.has('httponly'));
      assert.match(attrs.get('expires') ?? '', /1970/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal((await me(t, t1)).status, 401);
      assert.equal((await me(t, t0)).status, 401, 'a token still in its grace window dies too');
      const again = await request(t.server).post('/logout').set('Cookie', `xems_token=${t1}`);
      assert.equal(again.status, 200, 'unlink is idempotent');
    });

    it('login with an existing session revokes it (session fixation defence)', async () => {
      const before = await login(t, { user: 'fix' });
      const after = await login(t, { user: 'fix' }, before);
      assert.notEqual(after, before);
      assert.equal((await me(t, before)).status, 401);
      assert.equal((await me(t, after)).status, 200);
    });

    it('sandboxes are isolated: a token works only in its own sandbox', async () => {
      const user = await login(t, { user: 'usr' });
      assert.equal((await me(t, user, '/admin/me')).status, 401);
      assert.equal((await me(t, user, '/mixed/admin')).status, 401);
      const admin = await login(t, { user: 'adm', sandbox: 'admin' });
      const res = await me(t, admin, '/admin/me');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { admin: 'adm' });
      const next = cookieToken(res)!;
      assert.equal((await me(t, next, '/me')).status, 401);
      assert.equal((await me(t, next, '/mixed/admin')).status, 200);
    });

    it('an expired session -> 401, and its cookie expired no later', async () => {
      const res = await request(t.server).post('/login').send({ user: 'ttl', ttl: '2s', rememberMe: true });
      const token = cookieToken(res)!;
      assert.ok(Number(cookieAttributes(setCookieLine(res)!).get('max-age')) <= 2);
      assert.equal((await me(t, token)).status, 200);
      await sleep(2200);
      assert.equal((await me(t, token)).status, 401);
    });

    it('malformed cookies -> 401, never 500', async () => {
      const valid = await login(t, { user: 'mal' });
      const other = await login(t, { user: 'mal2' });
      const cookies = [
        'xems_token=garbage',
        `xems_token=${'A'.repeat(10 * 1024)}`,
        `xems_token=${valid}; xems_token=${other}`,
        `xems_token=${'é'.repeat(70)}`, // sent as Latin-1 bytes
        'xems_token=%E0%A4%A',
        'xems_token="quoted"',
        `xems_token=${valid.slice(0, 69)}`,
        'xems_token',
        '=;=;;;',
      ];
      for (const cookie of cookies) {
        const res = await request(t.server).get('/me').set('Cookie', cookie);
        assert.equal(res.status, 401, cookie.slice(0, 50));
        assert.doesNotMatch(res.text, /at .*\.js|stack/i);
      }
      const utf8 = Buffer.from(`GET /me HTTP/1.1\r\nHost: x\r\nCookie: xems_token=${'ü'.repeat(35)}\r\nConnection: close\r\n\r\n`, 'utf8');
      assert.equal(await rawStatus(t, utf8), 401);
      const duplicateHeaders = Buffer.from(
        `GET /me HTTP/1.1\r\nHost: x\r\nCookie: xems_token=${valid}\r\nCookie: xems_token=${other}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(await rawStatus(t, duplicateHeaders), 401);
      assert.equal((await request(t.server).get('/me').set('x-xems-token', 'short')).status, 401);
      assert.equal((await request(t.server).get('/me')).status, 401);
    });

    it('from(sandbox): JSON values round-trip, TTL, touch, has, del', async () => {
      const store = t.xems.from('kv-test');
      const value = { n: 1, nested: { list: [1, 'two', null, true] }, s: 'é€' };
      await store.set('obj', value);
      assert.deepEqual(await store.get('obj'), value);
      await store.set('num', 42);
      assert.equal(await store.get<number>('num'), 42);
      await store.set('null', null);
      assert.equal(await store.get('null'), null);
      assert.equal(await store.has('null'), true);
      assert.equal(await store.get('missing'), null);
      assert.equal(await store.has('missing'), false);
      await store.set('short', 'x', '1s');
      const ttl = (await store.ttl('short'))!;
      assert.ok(ttl > 0 && ttl <= 1000, `ttl ${ttl}`);
      assert.equal(await store.touch('short', '1h'), true);
      assert.ok((await store.ttl('short'))! > 1000);
      assert.equal(await store.touch('missing', '1h'), false);
      assert.equal(await store.ttl('missing'), null);
      assert.equal(await store.del('obj'), true);
      assert.equal(await store.del('obj'), false);
      assert.equal(await t.xems.from('other-sandbox').get('num'), null, 'sandboxes do not share keys');
      await assert.rejects(
        store.set('u', undefined),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'VALUE_NOT_SERIALIZABLE',
      );
      await assert.rejects(
        store.set('big', 'x'.repeat(70_000)),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'VALUE_TOO_LARGE',
      );
      await assert.rejects(store.set('k'.repeat(1025), 1), (e: unknown) => e instanceof XemsValidationError && e.code === 'KEY_TOO_LARGE');
      // Issue 12: a per-call TTL over 5 days is capped to 5 days (like the module's ttl), not refused.
      await store.set('t', 1, '6d');
      const capped = (await store.ttl('t'))!;
      assert.ok(capped > 431_000_000 && capped <= 432_000_000, `capped to 5 days: ${capped}`);
      await assert.rejects(store.set('t', 1, '0s'), (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_TTL');
      assert.throws(
        () => t.xems.from('bad sandbox'),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_SANDBOX',
      );
    });

    it('from(sandbox).get(token) returns the session data without rotating; del(token) revokes it', async () => {
      const token = await t.xems.createSession('otp-pending', { userId: 7, code: '123456' }, { ttl: '15m' });
      const pending = t.xems.from('otp-pending');
      assert.deepEqual(await pending.get(token), { userId: 7, code: '123456' });
      assert.deepEqual(await pending.get(token), { userId: 7, code: '123456' }, 'still the current token: no rotation happened');
      assert.equal(await t.xems.from('xems.session').get(token), null);
      assert.equal(await pending.del(token), true);
      assert.equal(await pending.get(token), null);
      assert.equal(await t.xems.resolveSession(token, { sandbox: 'otp-pending' }), null);
    });

    it('resolveSession / updateSession / revokeSession', async () => {
      const token = await t.xems.createSession('api', { a: 1 }, { ttl: '10m', userId: 'u1' });
      const r = await t.xems.resolveSession<{ a: number }>(token, { sandbox: 'api' });
      assert.ok(r);
      assert.deepEqual(r.data, { a: 1 });
      assert.equal(r.token, token);
      assert.equal(r.rotated, false);
      const rotated = await t.xems.resolveSession(token, { sandbox: 'api', rotate: true });
      assert.ok(rotated?.rotated);
      assert.notEqual(rotated.token, token);
      assert.equal(await t.xems.updateSession(rotated.token, { a: 2 }, { sandbox: 'api' }), true);
      assert.deepEqual((await t.xems.resolveSession(rotated.token, { sandbox: 'api' }))?.data, { a: 2 });
      assert.equal(await t.xems.revokeSession(rotated.token, { sandbox: 'api' }), true);
      assert.equal(await t.xems.resolveSession(rotated.token, { sandbox: 'api' }), null);
      assert.equal(await t.xems.updateSession(rotated.token, { a: 3 }, { sandbox: 'api' }), false);
      assert.equal(await t.xems.resolveSession('not-a-token'), null);
    });

    it('device list, revoke by id, and revoke all but the current session', async () => {
      const first = await login(t, { user: 'dev' });
      const second = await login(t, { user: 'dev' });
      const third = await login(t, { user: 'dev' });
      const res = await me(t, third, '/me/devices');
      assert.equal(res.status, 200);
      const list = res.body as Array<{
        id: string;
        current: boolean;
        ip: string;
        createdAt: number;
        expiresAt: number;
        lastSeenAt: number;
      }>;
      assert.equal(list.length, 3);
      assert.equal(list.filter((s) => s.current).length, 1, 'the requesting session is marked current');
      assert.ok(list.every((s) => s.ip === '127.0.0.1' && s.expiresAt > s.createdAt));
      assert.ok(!JSON.stringify(list).includes(first.slice(0, 22)), 'no token material in the list');
      const currentId = list.find((s) => s.current)!.id;
      const firstId = (await t.xems.resolveSession(first))!.id;
      assert.equal(await t.xems.revokeSessionById(firstId), true);
      assert.equal((await me(t, first)).status, 401);
      assert.equal((await t.xems.listSessions('dev')).length, 2);
      assert.equal(await t.xems.revokeSessions('dev', { except: currentId }), 1);
      assert.equal((await me(t, second)).status, 401);
      const remaining = await t.xems.listSessions('dev', { current: currentId });
      assert.deepEqual(
        remaining.map((s) => [s.id, s.current]),
        [[currentId, true]],
      );
      assert.equal(await t.xems.revokeSessions('dev'), 1);
      assert.deepEqual(await t.xems.listSessions('dev'), []);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`rotation policies (${platform})`, () => {
    it('autoRotation: false keeps the token', async () => {
      const t = await createTestApp({ autoRotation: false }, platform);
      try {
        const token = await login(t, { user: 'still' });
        for (let i = 0; i < 3; i++) {
          const res = await me(t, token);
          assert.equal(res.status, 200);
          assert.equal(setCookieLine(res), undefined);
        }
      } finally {
        await t.close();
      }
    });

    it('autoRotation as a duration rotates at most that often', async () => {
      const t = await createTestApp({ autoRotation: '1s' }, platform);
      try {
        const token = await login(t, { user: 'slow' });
        const early = await me(t, token);
        assert.equal(early.status, 200);
        assert.equal(setCookieLine(early), undefined, 'not rotated before 1 s');
        await sleep(1100);
        const later = await me(t, token);
        const next = cookieToken(later);
        assert.ok(next && next !== token, 'rotated once the token is 1 s old');
        assert.equal(setCookieLine(await me(t, next)), undefined);
      } finally {
        await t.close();
      }
    });
  });
}
