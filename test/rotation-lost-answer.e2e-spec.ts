import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { XemsEvent } from '../src';
import { tokenGeneration } from '../src/session-ledger';
import { TokenCookieJar } from './support/cookie-jar';
import { RotationRoutesController, heldRequests } from './support/held-requests';
import { STORE_KINDS, type StoreUnderTest, storeUnderTest } from './support/store-cases';
import { PLATFORMS, type TestApp, createTestApp, sleep } from './support/xems-test-app';

// Issue 12, "lost answer": the guard commits the rotation before the response exists. When that
// response never reaches the client (tab closed, link dropped), the client keeps its old token;
// coming back with it, however late, must get the session's current token, not a 401 and no
// theft alarm. Against the real sidecar, memory store and Redis.

const GRACE_MS = 300;
/** Well past the grace period, on a loaded machine too. */
const PAST_GRACE_MS = GRACE_MS + 700;

for (const platform of PLATFORMS)
  for (const kind of STORE_KINDS) {
    describe(`a lost answer never logs the client out (real sidecar, ${kind} store, ${platform})`, () => {
      let store: StoreUnderTest;
      let t: TestApp;
      const events: XemsEvent[] = [];
      before(async () => {
        store = await storeUnderTest(kind);
        t = await createTestApp({ ...store.options, cookie: { secure: false }, gracePeriod: GRACE_MS }, platform, [
          RotationRoutesController,
        ]);
        t.xems.events$.subscribe((e) => events.push(e));
      });
      after(async () => {
        await t?.close();
        await store?.stop();
      });

      const reused = () => events.filter((e) => e.type === 'session.reused');

      it('the client drops the connection after the guard rotated: its old token, > grace later, gets 200 and the current token', async () => {
        const jar = await TokenCookieJar.login(t.server, `lost-${kind}`);
        const first = await jar.get('/me');
        assert.equal(first.status, 200);
        const old = jar.token;
        const reuseBefore = (await t.xems.stats()).reuseDetected;

        // The guard runs and rotates; the handler holds until the connection is gone.
        await jar.lose(`/rot/held/${platform}-${kind}-lost`, heldRequests.entered(`${platform}-${kind}-lost`));
        heldRequests.release(`${platform}-${kind}-lost`); // the response is written into a closed connection
        assert.equal(jar.token, old, 'the jar never saw the rotated token');
        const current = await t.xems.resolveSession(old);
        assert.ok(current, 'the session lives');
        assert.equal(tokenGeneration(current.token), tokenGeneration(old) + 1, 'the rotation happened on the sidecar');

        await sleep(PAST_GRACE_MS);
        const back = await jar.get('/me', 'back');
        assert.equal(back.status, 200, 'the old token still works');
        assert.equal(back.body.user, `lost-${kind}`);
        assert.equal(jar.token, current.token, 'it got the session current token (no new rotation, no new branch)');

        // The session goes on as usual: the current token rotates, the one before is in its past.
        await sleep(PAST_GRACE_MS);
        const next = await jar.get('/me', 'next');
        assert.equal(next.status, 200);
        assert.equal(tokenGeneration(jar.token), tokenGeneration(current.token) + 1, 'the current token rotated');
        assert.deepEqual(reused(), [], 'no session.reused');
        assert.equal((await t.xems.stats()).reuseDetected, reuseBefore, 'no reuse counted');
      });

      it('answers lost again and again, with the same old token, each much later than grace: the session lives on', async () => {
        const jar = await TokenCookieJar.login(t.server, `lost-twice-${kind}`);
        const old = jar.token;
        for (let i = 0; i < 3; i++) {
          await jar.lose(`/rot/held/${platform}-${kind}-again-${i}`, heldRequests.entered(`${platform}-${kind}-again-${i}`));
          heldRequests.release(`${platform}-${kind}-again-${i}`);
          await sleep(PAST_GRACE_MS);
        }
        assert.equal(jar.token, old);
        const back = await jar.get('/me');
        assert.equal(back.status, 200);
        assert.equal(tokenGeneration(jar.token), tokenGeneration(old) + 1, 'one successor, however often its answer was lost');
        await sleep(PAST_GRACE_MS);
        assert.equal((await jar.get('/me')).status, 200);
        assert.deepEqual(reused(), []);
      });

      it('after a lost answer the client gets the successor back and uses it: the session rotates on as usual', async () => {
        const jar = await TokenCookieJar.login(t.server, `lost-then-used-${kind}`);
        const old = jar.token;
        await jar.lose(`/rot/held/${platform}-${kind}-used`, heldRequests.entered(`${platform}-${kind}-used`));
        heldRequests.release(`${platform}-${kind}-used`);
        assert.equal((await jar.get('/me')).status, 200); // old -> current (its successor)
        const successor = jar.token;
        assert.equal((await jar.get('/me')).status, 200); // the successor is presented: rotates
        assert.notEqual(jar.token, successor);
        assert.equal(tokenGeneration(successor), tokenGeneration(old) + 1);
        assert.deepEqual(reused(), []);
      });
    });
  }
