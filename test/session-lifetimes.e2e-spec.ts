import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, cookieAttributes, cookieToken, setCookieLine, sleep } from './support/xems-test-app';

async function login(t: FeaturesApp, body: Record<string, unknown> = {}) {
  const res = await request(t.server).post('/auth/login').send(body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { res, token: cookieToken(res)! };
}

const me = (t: FeaturesApp, token: string, path = '/me') => request(t.server).get(path).set('Cookie', `xems_token=${token}`);

/** Follows the token through rotations: sends a request and returns the token to use next. */
async function use(t: FeaturesApp, token: string): Promise<{ status: number; token: string; maxAge?: number }> {
  const res = await me(t, token);
  const line = setCookieLine(res);
  const maxAge = line ? Number(cookieAttributes(line).get('max-age')) : undefined;
  return { status: res.status, token: cookieToken(res) ?? token, maxAge: Number.isNaN(maxAge) ? undefined : maxAge };
}

for (const platform of PLATFORMS) {
  describe(`idle timeout (sliding) and absolute ttl (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      // The idle timeout leaves 800 ms for each request between two 400 ms pauses (a loaded
      // machine); the absolute ttl is far enough that a 401 below comes from idleness alone.
      t = await createFeaturesApp({ idleTimeout: 1200, ttl: '6s' }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('each use slides the idle deadline; an idle session ends', async () => {
      let { token } = await login(t, { user: 'idle1' });
      for (let i = 0; i < 4; i++) {
        await sleep(400); // 1.6 s in all: longer than the idle timeout, but never idle that long
        const r = await use(t, token);
        assert.equal(r.status, 200, `use ${i}`);
        token = r.token;
      }
      await sleep(1500);
      assert.equal((await use(t, token)).status, 401, 'idle for longer than idleTimeout');
    });

    it('sliding never extends a session past its absolute expiry', async () => {
      let { token } = await login(t, { user: 'idle2', ttl: '1500ms' });
      const started = Date.now();
      let lastOk = 0;
      while (Date.now() - started < 2300) {
        const r = await use(t, token);
        if (r.status !== 200) break;
        lastOk = Date.now() - started;
        token = r.token;
        await sleep(250);
      }
      assert.ok(lastOk < 1500, `served ${lastOk} ms after login with a 1500 ms ttl`);
      assert.equal((await use(t, token)).status, 401);
    });

    it('idleTimeout per link() overrides the module option (false: none)', async () => {
      const { token } = await login(t, { user: 'idle3', idleTimeout: false });
      await sleep(1500);
      assert.equal((await use(t, token)).status, 200, 'no idle timeout for this session');
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`remember-me cookies (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({ idleTimeout: '10s', autoRotation: false }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('a remember-me cookie of a sliding session is re-sent with its new Max-Age; a session cookie is not', async () => {
      const remembered = await login(t, { user: 'rm1', rememberMe: true });
      const first = Number(cookieAttributes(setCookieLine(remembered.res)!).get('max-age'));
      assert.ok(first <= 10 && first >= 9, `Max-Age ${first}`);
      await sleep(1100);
      const r = await use(t, remembered.token);
      assert.equal(r.status, 200);
      assert.equal(r.token, remembered.token, 'no rotation configured: same token');
      assert.ok(r.maxAge !== undefined && r.maxAge >= 9 && r.maxAge <= 10, `slid Max-Age ${r.maxAge}`);

      const plain = await login(t, { user: 'rm2' });
      assert.equal(cookieAttributes(setCookieLine(plain.res)!).has('max-age'), false);
      const again = await me(t, plain.token);
      assert.equal(again.status, 200);
      assert.equal(setCookieLine(again), undefined, 'a browser-session cookie is not re-sent when nothing changed');
    });

    it('the Max-Age is never later than the server expiry, also after the cap of the ttl', async () => {
      const { res, token } = await login(t, { user: 'rm3', rememberMe: true, ttl: '3s', idleTimeout: false });
      const maxAge = Number(cookieAttributes(setCookieLine(res)!).get('max-age'));
      const session = (await t.xems.resolveSession(token))!;
      assert.ok(maxAge * 1000 <= session.expiresAt - Date.now() + 1000 && maxAge <= 3, `Max-Age ${maxAge}`);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`regenerate() (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({ gracePeriod: '5s' }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('gives a new id and token, keeps the data, and kills the old token at once, grace included', async () => {
      const { token: t0 } = await login(t, { user: 'reg1', device: 'laptop' });
      const t1 = (await use(t, t0)).token; // t0 is now in its grace window
      const csrfBefore = (await me(t, t1, '/me/csrf')).body.csrf as string;
      const t2 = (await use(t, t1)).token;
      const res = await request(t.server).post('/me/regenerate').set('Cookie', `xems_token=${t2}`).send({ keepData: true });
      assert.equal(res.status, 200);
      const t3 = cookieToken(res)!;
      assert.ok(t3 && t3 !== t2, 'the response carries the new token');
      assert.notEqual(res.body.after, res.body.before, 'a new session id');
      assert.deepEqual(res.body.data, { user: 'reg1', email: 'reg1@example.test', role: 'user', n: 0 });
      assert.notEqual(res.body.csrf, csrfBefore, 'a new CSRF token');
      for (const [name, old] of [
        ['t0 (in grace)', t0],
        ['t1 (in grace)', t1],
        ['t2 (current)', t2],
      ]) {
        assert.equal((await me(t, old)).status, 401, `${name} is dead`);
      }
      const after = await me(t, t3);
      assert.equal(after.status, 200);
      assert.equal(after.body.session.user, 'reg1');
      assert.equal(after.body.context.id, res.body.after);
      const devices = await t.xems.listSessions('reg1');
      assert.deepEqual(
        devices.map((d) => [d.id, d.device]),
        [[res.body.after, 'laptop']],
        'the device list shows the new session with its device',
      );
      const ev = t.events.find((e) => e.type === 'session.regenerated');
      assert.deepEqual(ev, {
        type: 'session.regenerated',
        sandbox: 'xems.session',
        sessionId: res.body.after,
        previousSessionId: res.body.before,
      });
    });

    it('replaces the data when given new data', async () => {
      const { token } = await login(t, { user: 'reg2' });
      const res = await request(t.server)
        .post('/me/regenerate')
        .set('Cookie', `xems_token=${token}`)
        .send({ data: { user: 'reg2', role: 'admin' } });
      assert.deepEqual(res.body.data, { user: 'reg2', role: 'admin' });
      const after = await me(t, cookieToken(res)!);
      assert.deepEqual(after.body.session, { user: 'reg2', role: 'admin' });
    });

    it('updateSession honours the module gracePeriod (not a fixed 2 s)', async () => {
      const { token: t0 } = await login(t, { user: 'grace' });
      const t1 = (await use(t, t0)).token;
      await use(t, t1); // the successor is presented: t0's grace window starts now
      await sleep(2600);
      assert.equal(await t.xems.updateSession(t0, { user: 'grace', n: 1 }), true, 'successor presented 2.6 s ago, gracePeriod 5 s');
      assert.deepEqual((await t.xems.resolveSession(t1))?.data, { user: 'grace', n: 1 });
      const short = await createFeaturesApp({ gracePeriod: '1s' }, platform);
      try {
        const { token: s0 } = await login(short, { user: 'grace2' });
        const s1 = (await use(short, s0)).token;
        await use(short, s1);
        await sleep(1200);
        assert.equal(await short.xems.updateSession(s0, { n: 2 }), false, 'successor presented 1.2 s ago, gracePeriod 1 s');
      } finally {
        await short.close();
      }
    });
  });
}
