import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { STORE_KINDS, type StoreUnderTest, storeUnderTest } from './support/store-cases';
import { type FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { cookieToken } from './support/xems-test-app';

// Issue 12, smaller point: a lifetime over 5 days is capped to 5 days everywhere (the module's
// ttl, a per-call TTL of from(s).set / touch, createSession and link), with one warning per kind
// of setting, never refused with INVALID_TTL. Against the real sidecar, memory and Redis.

const FIVE_DAYS_MS = 5 * 24 * 3600 * 1000;
/** Slack for the time the calls take on a loaded machine. */
const SLACK_MS = 60_000;

function assertFiveDays(remainingMs: number | null | undefined, what: string): void {
  assert.ok(
    typeof remainingMs === 'number' && remainingMs <= FIVE_DAYS_MS && remainingMs > FIVE_DAYS_MS - SLACK_MS,
    `${what}: ${remainingMs} ms left, want 5 days`,
  );
}

for (const kind of STORE_KINDS) {
  describe(`TTLs over 5 days are capped, with one warning per kind (real sidecar, ${kind} store)`, () => {
    let store: StoreUnderTest;
    let t: FeaturesApp;
    before(async () => {
      store = await storeUnderTest(kind);
      t = await createFeaturesApp({ ...store.options, cookie: { secure: false }, ttl: '7d' });
    });
    after(async () => {
      await t?.close();
      await store?.stop();
    });

    const capWarnings = () => t.logs.lines.filter((l) => l.startsWith('WARN') && /is longer than 5 days: capped to 5 days/.test(l));

    it('the module ttl, from(s).set/touch, createSession and link: each capped to 5 days, one warning per kind', async () => {
      assert.equal(capWarnings().filter((l) => l.includes('XemsModule option "ttl"')).length, 1, 'the module ttl warned at start');

      const otp = t.xems.from('otp');
      await otp.set('a', 1, '10d');
      await otp.set('b', 2, '6d');
      assertFiveDays(await otp.ttl('a'), "set('a', 1, '10d')");
      assertFiveDays(await otp.ttl('b'), "set('b', 2, '6d')");
      assert.equal(await otp.touch('a', '30d'), true);
      assertFiveDays(await otp.ttl('a'), "touch('a', '30d')");
      await otp.set('c', 3); // the module ttl, capped at start
      assertFiveDays(await otp.ttl('c'), 'the module ttl');

      const token = await t.xems.createSession('app', { x: 1 }, { ttl: '7d' });
      const session = await t.xems.resolveSession(token, { sandbox: 'app' });
      assertFiveDays(session!.expiresAt - Date.now(), "createSession(..., { ttl: '7d' })");

      const login = await request(t.server)
        .post('/auth/login')
        .send({ user: `capped-${kind}`, ttl: '9d' });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const linked = await t.xems.resolveSession(cookieToken(login)!);
      assertFiveDays(linked!.expiresAt - Date.now(), "link(..., { ttl: '9d' })");

      const again = await t.xems.createSession('app', { x: 2 }, { ttl: '8d' });
      assert.ok(again);
      await otp.set('d', 4, '11d');

      // The first capped value of each kind warned; the later ones ('6d', '8d', '11d') did not.
      assert.deepEqual(
        capWarnings().map((w) => w.slice('WARN '.length, w.indexOf(' is longer'))),
        [
          'XemsModule option "ttl" ("7d")',
          'A ttl given to from(sandbox).set() ("10d")',
          'A ttl given to from(sandbox).touch() ("30d")',
          'A ttl given to createSession() ("7d")',
          'A ttl given to link() ("9d")',
        ],
      );
    });
  });
}
