import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { XemsEvent, XemsModuleOptions } from '../src';
import { TokenCookieJar } from './support/cookie-jar';
import { startRedis } from './support/redis-servers';
import { PLATFORMS, TestApp, cookieToken, createTestApp, sleep } from './support/xems-test-app';

// Issue 12, "late answer overwrites a newer token": a slow page overlapping quick requests of
// the same browser must not write an older token back into the cookie jar. The jar applies
// Set-Cookie in arrival order; the slow response arrives last.

/** A slow page (1.5 s) and quick requests of one jar while it runs; then the jar is used again after the grace period. */
async function slowPageOverlappingQuickOnes(t: TestApp): Promise<void> {
  const events: XemsEvent[] = [];
  const sub = t.xems.events$.subscribe((e) => events.push(e));
  try {
    const login = await request(t.server).post('/login').send({ user: 'late' });
    assert.equal(login.status, 200);
    const jar = new TokenCookieJar(t.server, cookieToken(login)!);
    const slow = jar.get('/me/slow?ms=1500', 'slow');
    await sleep(150); // the slow request's guard has run (and rotated the token)
    const quickTokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await jar.get('/me', `quick ${i}`);
      assert.equal(res.status, 200, `quick request ${i}`);
      quickTokens.push(jar.token);
      await sleep(40);
    }
    const slowRes = await slow;
    assert.equal(slowRes.status, 200);
    assert.equal(jar.arrivals.at(-1), 'slow', `the slow response arrived last: ${jar.arrivals.join(', ')}`);
    assert.equal(cookieToken(slowRes), quickTokens.at(-1), 'the slow response wrote the newest token, not the one its own request got');
    assert.equal(jar.token, quickTokens.at(-1), 'the jar holds the newest token');

    // Past the grace period an old token would be reuse: the jar's token must still work.
    await sleep(2300);
    const after = await jar.get('/me', 'after');
    assert.equal(after.status, 200, 'the jar still holds a working token');
    assert.equal(after.body.user, 'late');
    assert.deepEqual(
      events.filter((e) => e.type === 'session.reused'),
      [],
      'no theft alarm',
    );
  } finally {
    sub.unsubscribe();
  }
}

for (const platform of PLATFORMS) {
  describe(`a late response never writes an older token (real sidecar, memory store) (${platform})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ cookie: { secure: false } }, platform);
    });
    after(async () => {
      await t?.close();
    });

    it('a slow page overlapping quick requests of one cookie jar: the jar ends with a working token, no session.reused', async () => {
      await slowPageOverlappingQuickOnes(t);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`a late response never writes an older token (real sidecar, Redis store) (${platform})`, () => {
    let t: TestApp;
    let redis: Awaited<ReturnType<typeof startRedis>>;
    before(async () => {
      redis = await startRedis();
      const options: XemsModuleOptions = {
        cookie: { secure: false },
        store: { type: 'redis', url: redis.url },
        persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
        hardwareBinding: false,
      };
      t = await createTestApp(options, platform);
    });
    after(async () => {
      await t?.close();
      await redis?.stop();
    });

    it('the slow response refreshes its token before it leaves: the jar ends with a working token, no session.reused', async () => {
      await slowPageOverlappingQuickOnes(t);
    });
  });
}
