import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { XemsEvent } from '../src';
import { TokenCookieJar } from './support/cookie-jar';
import { RotationRoutesController, heldRequests } from './support/held-requests';
import { STORE_KINDS, type StoreUnderTest, storeUnderTest } from './support/store-cases';
import { PLATFORMS, type TestApp, createTestApp, sleep } from './support/xems-test-app';

// Issue 12, "a thief still loses": the rule that keeps honest clients logged in (a token whose
// successor was never presented gets the current token) must still catch a copied token used by
// a second party, and must never bring back a session killed on purpose. docs/security-model.md
// "Theft patterns caught". Against the real sidecar, memory store and Redis.

const GRACE_MS = 300;
const PAST_GRACE_MS = GRACE_MS + 700;

for (const platform of PLATFORMS)
  for (const kind of STORE_KINDS) {
    describe(`a thief still loses (real sidecar, ${kind} store, ${platform})`, () => {
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

      const reusedOf = (id: string) => events.filter((e) => e.type === 'session.reused' && e.sessionId === id);
      const sessionId = async (jar: TokenCookieJar) => (await jar.get('/rot/id')).body.id as string;

      it('owner idle while a thief rotates a copied token a few times: the owner coming back logs both out, session.reused once', async () => {
        const owner = await TokenCookieJar.login(t.server, `owner-${kind}`);
        const id = await sessionId(owner);
        assert.equal((await owner.get('/me')).status, 200);
        const thief = new TokenCookieJar(t.server, owner.token); // the copied cookie
        for (let i = 0; i < 3; i++) {
          const res = await thief.get('/me', `thief ${i}`);
          assert.equal(res.status, 200, `the thief's request ${i} is served (nobody has contradicted it yet)`);
        }
        assert.notEqual(thief.token, owner.token);
        await sleep(PAST_GRACE_MS);

        const back = await owner.get('/me', 'owner back');
        assert.equal(back.status, 401, 'the owner presents a token whose successor the thief presented: reuse');
        assert.equal((await thief.get('/me', 'thief after')).status, 401, "the thief's newest token is dead too");
        assert.equal((await owner.get('/me', 'owner again')).status, 401);
        assert.equal(reusedOf(id).length, 1, 'session.reused exactly once');
        assert.deepEqual(await t.xems.listSessions(`owner-${kind}`), [], 'the session is gone from the user index');
      });

      it('an old token whose successor was used, presented after the grace period, ends the session', async () => {
        const jar = await TokenCookieJar.login(t.server, `old-${kind}`);
        const id = await sessionId(jar); // presents the login token: rotates
        const old = jar.token;
        assert.equal((await jar.get('/me')).status, 200); // presents old: rotates to its successor
        assert.equal((await jar.get('/me')).status, 200); // presents the successor
        const newest = jar.token;
        await sleep(PAST_GRACE_MS);
        const stale = new TokenCookieJar(t.server, old);
        assert.equal((await stale.get('/me')).status, 401, 'the old token is reuse');
        assert.equal((await jar.get('/me')).status, 401, 'the session ended: the newest token is dead');
        assert.equal(jar.token, newest);
        assert.equal(reusedOf(id).length, 1);
      });

      // A token killed on purpose stays dead: whatever it is (the current one or a predecessor
      // whose successor was never presented, which would otherwise get the current token back).
      const kills: Array<[string, (jar: TokenCookieJar, id: string) => Promise<void>]> = [
        ['logout', async (jar) => assert.equal((await jar.post('/me/logout')).status, 200)],
        ['revoke by id', async (_jar, id) => assert.equal(await t.xems.revokeSessionById(id), true)],
        ['revoke of every session of the user', async () => assert.equal(await t.xems.revokeSessions(`killed-${kind}-revoke-all`), 1)],
      ];
      for (const [how, kill] of kills) {
        it(`${how}: the current token and its unclaimed predecessor stay dead, also long after`, async () => {
          const slug = `${platform}-${kind}-${how.replace(/\W+/g, '-')}`;
          const user = how.startsWith('revoke of every') ? `killed-${kind}-revoke-all` : `killed-${slug}`;
          const jar = await TokenCookieJar.login(t.server, user);
          const id = await sessionId(jar);
          const predecessor = jar.token;
          // A lost answer: the sidecar rotated, the client never got the successor.
          await jar.lose(`/rot/held/${slug}`, heldRequests.entered(slug));
          heldRequests.release(slug);
          const successor = (await t.xems.resolveSession(predecessor))!.token;
          await kill(jar, id);
          for (const wait of [0, PAST_GRACE_MS]) {
            await sleep(wait);
            for (const [name, token] of [
              ['the predecessor', predecessor],
              ['the unpresented successor', successor],
            ]) {
              const res = await new TokenCookieJar(t.server, token).get('/me');
              assert.equal(res.status, 401, `${name}, ${wait} ms after the ${how}`);
            }
          }
          assert.deepEqual(reusedOf(id), [], 'a kill is not a theft');
        });
      }

      it('regenerate: the old identity stays dead (its tokens, an unclaimed successor), the new one works', async () => {
        const jar = await TokenCookieJar.login(t.server, `regen-${kind}`);
        const id = await sessionId(jar);
        const predecessor = jar.token;
        await jar.lose(`/rot/held/${platform}-${kind}-regen`, heldRequests.entered(`${platform}-${kind}-regen`));
        heldRequests.release(`${platform}-${kind}-regen`);
        const res = await jar.post('/rot/regenerate');
        assert.equal(res.status, 200, 'regenerate with the predecessor (whose successor was never presented)');
        assert.notEqual(jar.token, predecessor);
        await sleep(PAST_GRACE_MS);
        assert.equal((await new TokenCookieJar(t.server, predecessor).get('/me')).status, 401);
        const fresh = await jar.get('/me');
        assert.equal(fresh.status, 200, 'the regenerated session works');
        assert.notEqual(await sessionId(jar), id, 'a new identity');
        assert.deepEqual(reusedOf(id), []);
      });
    });
  }
