import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { XemsEvent } from '../src';
import { TokenCookieJar } from './support/cookie-jar';
import { RotationRoutesController, heldRequests } from './support/held-requests';
import { STORE_KINDS, type StoreUnderTest, storeUnderTest } from './support/store-cases';
import { PLATFORMS, TestApp, cookieToken, createTestApp, sleep } from './support/xems-test-app';

// Issue 12, "late answer overwrites a newer token": a slow page overlapping quick requests of
// the same browser must not write an older token back into the cookie jar. The jar applies
// Set-Cookie in arrival order; the slow responses arrive last. After every interleaving the
// jar holds a working token (or, after a kill on purpose, none), with no theft alarm.
// A slow page is a request held in its handler (after its guard rotated the token) until the
// test releases it: the arrival order is the test's, not a race between timers on a loaded
// machine.

/** Well past the default grace period (2 s): an old token in the jar would now be reuse. */
const PAST_GRACE_MS = 2300;

async function quickOnes(jar: TokenCookieJar, n: number, label: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await jar.get('/me', `${label} ${i}`);
    assert.equal(res.status, 200, `${label} ${i}`);
    tokens.push(jar.token);
    await sleep(40);
  }
  return tokens;
}

/**
 * Waits until the held request `name` is in its handler (its guard has run and rotated the
 * token), runs `during`, then lets the held request answer, also when `during` fails.
 */
async function whileHeld<T>(name: string, during: () => Promise<T>): Promise<T> {
  try {
    await heldRequests.entered(name);
    return await during();
  } finally {
    heldRequests.release(name);
  }
}

for (const platform of PLATFORMS)
  for (const kind of STORE_KINDS) {
    describe(`a late response never writes an older token (real sidecar, ${kind} store, ${platform})`, () => {
      let store: StoreUnderTest;
      let t: TestApp;
      const events: XemsEvent[] = [];
      before(async () => {
        store = await storeUnderTest(kind);
        t = await createTestApp({ ...store.options, cookie: { secure: false } }, platform, [RotationRoutesController]);
        t.xems.events$.subscribe((e) => events.push(e));
      });
      after(async () => {
        await t?.close();
        await store?.stop();
      });

      const reused = () => events.filter((e) => e.type === 'session.reused');

      it('a slow page overlapping quick requests of one cookie jar: the jar ends with a working token, no session.reused', async () => {
        const login = await request(t.server).post('/login').send({ user: 'late' });
        assert.equal(login.status, 200);
        const jar = new TokenCookieJar(t.server, cookieToken(login)!);
        const name = `${platform}-${kind}-slow`;
        const slow = jar.get(`/rot/held/${name}`, 'slow');
        const quickTokens = await whileHeld(name, () => quickOnes(jar, 5, 'quick'));
        const slowRes = await slow;
        assert.equal(slowRes.status, 200);
        assert.equal(jar.arrivals.at(-1), 'slow', `the slow response arrived last: ${jar.arrivals.join(', ')}`);
        assert.equal(cookieToken(slowRes), quickTokens.at(-1), 'the slow response wrote the newest token, not the one its own request got');
        assert.equal(jar.token, quickTokens.at(-1), 'the jar holds the newest token');

        await sleep(PAST_GRACE_MS);
        const after = await jar.get('/me', 'after');
        assert.equal(after.status, 200, 'the jar still holds a working token');
        assert.equal(after.body.user, 'late');
        assert.deepEqual(reused(), [], 'no theft alarm');
      });

      it('two slow pages overlapping each other and quick ones, the earlier slow one arriving last: the jar ends with a working token', async () => {
        const jar = await TokenCookieJar.login(t.server, `two-slow-${kind}`);
        const [name1, name2] = [`${platform}-${kind}-two-slow-1`, `${platform}-${kind}-two-slow-2`];
        const first = jar.get(`/rot/held/${name1}`, 'slow 1');
        const quickTokens = await whileHeld(name1, async () => {
          await quickOnes(jar, 2, 'quick a');
          const second = jar.get(`/rot/held/${name2}`, 'slow 2');
          const tokens = await whileHeld(name2, () => quickOnes(jar, 3, 'quick b'));
          assert.equal((await second).status, 200);
          return tokens;
        });
        assert.equal((await first).status, 200);
        assert.equal(jar.arrivals.at(-1), 'slow 1', `the first slow response arrived last: ${jar.arrivals.join(', ')}`);
        assert.equal(jar.token, quickTokens.at(-1), 'the jar holds the newest token');

        await sleep(PAST_GRACE_MS);
        assert.equal((await jar.get('/me', 'after')).status, 200, 'the jar still holds a working token');
        assert.deepEqual(reused(), []);
      });

      it('a slow page overlapping a logout of the same jar: its late response brings no token back', async () => {
        const jar = await TokenCookieJar.login(t.server, `slow-logout-${kind}`);
        const name = `${platform}-${kind}-slow-logout`;
        const slow = jar.get(`/rot/held/${name}`, 'slow');
        const held = await whileHeld(name, async () => {
          await quickOnes(jar, 1, 'quick');
          const token = jar.token;
          assert.equal((await jar.post('/me/logout', 'logout')).status, 200);
          return token;
        });
        const slowRes = await slow;
        assert.equal(slowRes.status, 200);
        assert.ok(!cookieToken(slowRes), `the slow response after the logout set no token: ${cookieToken(slowRes)}`);
        assert.equal((await jar.get('/me', 'after')).status, 401, 'logged out');
        assert.equal((await new TokenCookieJar(t.server, held).get('/me')).status, 401, 'the token before the logout is dead');
        assert.deepEqual(reused(), []);
      });

      it('a slow page overlapping a regenerate of the same jar: its late response keeps the new identity in the jar', async () => {
        const jar = await TokenCookieJar.login(t.server, `slow-regen-${kind}`);
        const name = `${platform}-${kind}-slow-regen`;
        const slow = jar.get(`/rot/held/${name}`, 'slow');
        const [regenerated, newest] = await whileHeld(name, async () => {
          assert.equal((await jar.post('/rot/regenerate', 'regenerate')).status, 200);
          const token = jar.token;
          await quickOnes(jar, 2, 'quick');
          return [token, jar.token];
        });
        const slowRes = await slow;
        assert.equal(slowRes.status, 200);
        assert.ok(!cookieToken(slowRes), 'the slow response of the old identity set no token');
        assert.equal(jar.token, newest);
        assert.notEqual(regenerated, newest);
        await sleep(PAST_GRACE_MS);
        assert.equal((await jar.get('/me', 'after')).status, 200, 'the regenerated session works');
        assert.deepEqual(reused(), []);
      });
    });
  }
