import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { XemsHealthCheckError, XemsHealthIndicator } from '../src';
import { FeaturesApp, createFeaturesApp, eventually } from './support/xems-features-app';
import { PLATFORMS, cookieAttributes, cookieToken, setCookieLine, sleep } from './support/xems-test-app';

const types = (t: FeaturesApp) => t.events.map((e) => e.type);

for (const platform of PLATFORMS) {
  describe(`events$ (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({ gracePeriod: 100 }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('session.created / rotated / reused / revoked / expired carry the session id', async () => {
      const login = await request(t.server).post('/auth/login').send({ user: 'zed' });
      const id = login.body.context.id as string;
      const t0 = cookieToken(login)!;
      assert.deepEqual(t.events.at(-1), { type: 'session.created', sandbox: 'xems.session', sessionId: id });
      const r1 = await request(t.server).get('/me').set('Cookie', `xems_token=${t0}`);
      assert.deepEqual(t.events.at(-1), { type: 'session.rotated', sandbox: 'xems.session', sessionId: id });
      assert.ok(cookieToken(r1));
      // The successor is presented (and rotates again): t0 is now a superseded token whose successor was used.
      await request(t.server)
        .get('/me')
        .set('Cookie', `xems_token=${cookieToken(r1)}`);
      await sleep(200);
      assert.equal((await request(t.server).get('/me').set('Cookie', `xems_token=${t0}`)).status, 401);
      assert.deepEqual(t.events.at(-1), { type: 'session.reused', sandbox: 'xems.session', sessionId: id });

      const second = await request(t.server).post('/auth/login').send({ user: 'zed' });
      await request(t.server)
        .post('/me/logout')
        .set('Cookie', `xems_token=${cookieToken(second)}`);
      assert.deepEqual(t.events.at(-1), {
        type: 'session.revoked',
        sandbox: 'xems.session',
        sessionId: second.body.context.id,
        reason: 'revoked',
      });

      // Expiry is reported by the sidecar (its expirer runs every second), also for a session
      // nobody touches again.
      const short = await request(t.server).post('/auth/login').send({ user: 'zed', ttl: '200ms' });
      const shortId = short.body.context.id as string;
      await eventually(() => t.events.some((e) => e.type === 'session.expired' && e.sessionId === shortId), 10_000, 'session.expired');
      const ev = t.events.find((e) => e.type === 'session.expired' && e.sessionId === shortId);
      assert.deepEqual(ev, { type: 'session.expired', sandbox: 'xems.session', sessionId: shortId });
      assert.equal(t.events.filter((e) => e.type === 'session.expired' && e.sessionId === shortId).length, 1, 'reported once');
    });

    it('sidecar.unavailable and sidecar.restarted when the sidecar dies', async () => {
      const pid = t.xems.sidecar.pid!;
      process.kill(pid, 'SIGKILL');
      await eventually(() => types(t).includes('sidecar.restarted'), 15_000, 'sidecar.restarted');
      const unavailable = t.events.find((e) => e.type === 'sidecar.unavailable');
      assert.ok(unavailable && unavailable.type === 'sidecar.unavailable' && unavailable.willRestart);
      const restarted = t.events.find((e) => e.type === 'sidecar.restarted');
      assert.ok(restarted && restarted.type === 'sidecar.restarted' && restarted.pid !== pid);
      assert.equal((await request(t.server).post('/auth/login').send({ user: 'after' })).status, 200, 'serving again');
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`stats() (${platform})`, () => {
    it('reports records and bytes per sandbox, counters and IPC latency percentiles', async () => {
      const t = await createFeaturesApp({}, platform);
      try {
        for (let i = 0; i < 5; i++) {
          const login = await request(t.server)
            .post('/auth/login')
            .send({ user: `s${i}` });
          await request(t.server)
            .get('/me')
            .set('Cookie', `xems_token=${cookieToken(login)}`);
        }
        await t.xems.from('kv-stats').set('a', { x: 1 });
        await t.xems.revokeSessions('s0');
        const stats = await t.xems.stats();
        assert.deepEqual(stats.sandboxes['xems.session'].sessions, 4);
        assert.equal(stats.sandboxes['xems.session'].records, 4);
        assert.ok(stats.sandboxes['xems.session'].bytes > 4 * 28, 'sealed bytes');
        assert.deepEqual([stats.sandboxes['kv-stats'].kv, stats.sandboxes['kv-stats'].records], [1, 1]);
        assert.equal(stats.rotations, 5);
        assert.equal(stats.revoked, 1);
        assert.equal(stats.ops.S_CREATE, 5);
        assert.equal(stats.ops.S_RESOLVE, 5);
        assert.ok(stats.ipc.samples >= 12, `samples ${stats.ipc.samples}`);
        assert.ok(stats.ipc.p50Ms! > 0 && stats.ipc.p99Ms! >= stats.ipc.p50Ms!, JSON.stringify(stats.ipc));
        assert.equal(stats.sidecar.state, 'running');
        assert.equal(stats.sidecar.pid, t.xems.sidecar.pid);
        for (const k of ['reuseDetected', 'expired', 'evicted', 'bindingMismatches'] as const) assert.equal(typeof stats[k], 'number');
      } finally {
        await t.close();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`XemsHealthIndicator (${platform})`, () => {
    it('reports up with details, and down in the shape @nestjs/terminus expects', async () => {
      const t = await createFeaturesApp({ sidecar: { maxRestarts: 0 } }, platform);
      try {
        const up = await request(t.server).get('/health');
        assert.equal(up.body.xems.status, 'up');
        assert.equal(up.body.xems.pid, t.xems.sidecar.pid);
        assert.equal(typeof up.body.xems.latencyMs, 'number');
        const indicator = t.app.get(XemsHealthIndicator);
        assert.deepEqual(Object.keys(await indicator.isHealthy('store')), ['store']);
        process.kill(t.xems.sidecar.pid!, 'SIGKILL');
        await eventually(() => t.xems.sidecar.state === 'failed', 3000, 'the sidecar to be down');
        const err = await indicator.isHealthy('store').then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof XemsHealthCheckError);
        assert.equal(err.isHealthCheckError, true, 'what terminus checks');
        assert.equal((err.causes as Record<string, { status: string }>).store.status, 'down');
        const down = await request(t.server).get('/health');
        assert.equal(down.body.error.xems.status, 'down');
        assert.match(down.body.error.xems.message, /failed/);
      } finally {
        await t.close();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`getSessionContext / @SessionContext(): rotated (${platform})`, () => {
    it('is true only on the request that rotated the token', async () => {
      const t = await createFeaturesApp({ gracePeriod: '5s' }, platform);
      try {
        const login = await request(t.server).post('/auth/login').send({ user: 'rot' });
        assert.equal(login.body.context.rotated, false);
        const t0 = cookieToken(login)!;
        const first = await request(t.server).get('/me').set('Cookie', `xems_token=${t0}`);
        assert.equal(first.body.context.rotated, true);
        const inGrace = await request(t.server).get('/me').set('Cookie', `xems_token=${t0}`);
        assert.equal(inGrace.body.context.rotated, false, 'handed the current token, rotated nothing');
        assert.equal(cookieToken(inGrace), cookieToken(first));
        assert.equal(first.body.context.id, login.body.context.id);
        assert.equal(typeof first.body.context.expiresAt, 'number');
      } finally {
        await t.close();
      }
      const still = await createFeaturesApp({ autoRotation: false }, platform);
      try {
        const login = await request(still.server).post('/auth/login').send({ user: 'rot2' });
        const res = await request(still.server)
          .get('/me')
          .set('Cookie', `xems_token=${cookieToken(login)}`);
        assert.equal(res.body.context.rotated, false);
      } finally {
        await still.close();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`expressHelpers (${platform})`, () => {
    it('adds res.xLink / res.xUnlink backed by link / unlink', async () => {
      const t = await createFeaturesApp({ expressHelpers: true }, platform);
      try {
        assert.deepEqual((await request(t.server).get('/auth/helpers')).body, { xLink: 'function', xUnlink: 'function' });
        const login = await request(t.server).post('/auth/x-login').send({ user: 'xav' });
        assert.equal(login.status, 200);
        const token = cookieToken(login)!;
        const me = await request(t.server).get('/me').set('Cookie', `xems_token=${token}`);
        assert.equal(me.status, 200);
        assert.equal(me.body.session.user, 'xav');
        assert.equal((await t.xems.listSessions('xav')).length, 1, 'xLink options (userId) are passed on');
        const next = cookieToken(me)!;
        const logout = await request(t.server).post('/auth/x-logout').set('Cookie', `xems_token=${next}`);
        assert.equal(logout.status, 200);
        assert.equal(cookieAttributes(setCookieLine(logout)!).get('max-age'), '0', 'the cookie is cleared');
        assert.equal((await request(t.server).get('/me').set('Cookie', `xems_token=${next}`)).status, 401);
      } finally {
        await t.close();
      }
      const off = await createFeaturesApp({}, platform);
      try {
        assert.deepEqual((await request(off.server).get('/auth/helpers')).body, { xLink: 'undefined', xUnlink: 'undefined' });
      } finally {
        await off.close();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`no token, secret or session data in any log line or event (${platform})`, () => {
    it('scans every captured log line (Nest logger and sidecar stderr) and every event for planted markers and tokens', async () => {
      const t = await createFeaturesApp({ gracePeriod: 100, binding: { userAgent: true, onMismatch: 'log' } }, platform);
      const secrets = new Set<string>();
      const MARKER = 'PLANTED-7d1c5e-';
      try {
        const remember = (v: string | undefined) => v && secrets.add(v);
        const data = { user: 'mark', email: `${MARKER}not-an-email`, note: `${MARKER}note`, role: 'user', n: 0 };
        const login = await request(t.server)
          .post('/auth/login')
          .set('User-Agent', `${MARKER}agent`)
          .send({ user: 'mark', data, device: 'desk' });
        let token = cookieToken(login)!;
        remember(token);
        remember(login.body.csrf);
        const first = token;
        for (let i = 0; i < 3; i++) {
          const res = await request(t.server).get('/me').set('User-Agent', `${MARKER}agent`).set('Cookie', `xems_token=${token}`);
          token = cookieToken(res) ?? token;
          remember(token);
        }
        await request(t.server).get('/me').set('User-Agent', `${MARKER}other-agent`).set('Cookie', `xems_token=${token}`); // binding mismatch (log)
        const typed = await request(t.server).get('/me/typed').set('User-Agent', `${MARKER}agent`).set('Cookie', `xems_token=${token}`); // invalid typed data: 401 + log
        assert.equal(typed.status, 401);
        const regen = await request(t.server)
          .post('/me/regenerate')
          .set('User-Agent', `${MARKER}agent`)
          .set('Cookie', `xems_token=${token}`)
          .send({ keepData: true });
        token = cookieToken(regen)!;
        remember(token);
        remember(regen.body.csrf);
        await sleep(200);
        await request(t.server).get('/me').set('Cookie', `xems_token=${first}`); // an old token: not found
        const kv = t.xems.from('otp');
        await kv.set(`${MARKER}key`, { code: `${MARKER}code` });
        await kv.get(`${MARKER}key`);
        await t.xems
          .from('otp', { schema: class {} as never })
          .get(`${MARKER}key`)
          .catch(() => undefined);
        await request(t.server).post('/auth/login').send({ user: 'mark', ttl: '100ms', data });
        await eventually(() => t.events.some((e) => e.type === 'session.expired'), 10_000, 'an expiry');
        await request(t.server).post('/me/logout').set('Cookie', `xems_token=${token}`);
        process.kill(t.xems.sidecar.pid!, 'SIGKILL');
        await eventually(() => t.events.some((e) => e.type === 'sidecar.restarted'), 15_000, 'the restart');
      } finally {
        await t.close();
      }
      const haystack = [...t.logs.lines, ...t.events.map((e) => JSON.stringify(e))];
      assert.ok(
        t.logs.lines.some((l) => l.includes('Binding mismatch')),
        'the logs were captured',
      );
      assert.ok(
        t.logs.lines.some((l) => l.includes('XemsSidecar') || l.includes('[pid ')),
        'the sidecar lines were captured',
      );
      assert.ok(secrets.size >= 7);
      for (const line of haystack) {
        assert.ok(!line.includes(MARKER), `a planted marker leaked: ${line}`);
        for (const s of secrets) assert.ok(!line.includes(s), `a token leaked: ${line}`);
      }
    });
  });
}
