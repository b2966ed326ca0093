import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { XemsEvent } from '../src';
import { TokenCookieJar } from './support/cookie-jar';
import { useFaultApp } from './support/fault-app';
import { type RedisServer, redisCommand, startRedis } from './support/redis-servers';
import { type SlowLink, startSlowLink } from './support/slow-link';
import { whileStopped } from './support/stalls';
import { STORE_KINDS, redisStoreOptions, storeUnderTest } from './support/store-cases';
import { PLATFORMS, type TestApp, sleep } from './support/xems-test-app';

// Issue 12, "503 after a stall": the Node side gives up after requestTimeout and answers 503;
// the stalled sidecar (or Redis behind a slow link) must not apply the rotations it finds
// queued when it resumes (the deadline travels with the request), and every client, coming
// back with the token it still holds more than the grace period later, keeps its session.
// "100 users and a stall": 0 logged out. On Express and Fastify.

const REQUEST_TIMEOUT_MS = 1500;
const GRACE_MS = 300;
const PAST_GRACE_MS = GRACE_MS + 700;
const USERS = 100;
const TIMING = { graceMs: GRACE_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS };

/** `n` users logged in, each having made one request (so each has rotated once). */
async function activeUsers(server: Server, prefix: string, n: number): Promise<TokenCookieJar[]> {
  const jars: TokenCookieJar[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) => TokenCookieJar.login(server, `${prefix}-${i + j}`)),
    );
    for (const jar of batch) assert.equal((await jar.get('/me')).status, 200);
    jars.push(...batch);
  }
  return jars;
}

/** Every jar's request, all at once, while the store cannot answer: the statuses (a 503 must say when to retry). */
async function requestsDuringStall(jars: TokenCookieJar[]): Promise<number[]> {
  const responses = await Promise.all(jars.map((jar) => jar.get('/me', 'during the stall')));
  for (const r of responses) if (r.status === 503) assert.ok(r.headers['retry-after'], 'a 503 carries Retry-After');
  return responses.map((r) => r.status);
}

/** After the stall, past the grace period: every user comes back with the token its jar holds. */
async function everyoneComesBack(t: TestApp, jars: TokenCookieJar[], events: XemsEvent[], revokedBefore: number): Promise<void> {
  await sleep(PAST_GRACE_MS);
  const statuses = await Promise.all(jars.map(async (jar) => (await jar.get('/me', 'back')).status));
  const loggedOut = statuses.filter((s) => s === 401).length;
  assert.equal(loggedOut, 0, `users logged out: ${loggedOut} of ${jars.length}`);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every user is served',
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'session.reused' || e.type === 'session.revoked'),
    [],
    'no theft alarm, no revocation',
  );
  const stats = await t.xems.stats();
  assert.equal(stats.reuseDetected, 0);
  assert.equal(stats.revoked, revokedBefore);
}

/** The rotations the store found queued after the stall were dropped: each jar's token is still its session's current one. */
async function noLateRotation(t: TestApp, jars: TokenCookieJar[]): Promise<void> {
  for (const [i, jar] of jars.entries()) {
    const now = await t.xems.resolveSession(jar.token); // no rotation
    assert.equal(now?.token, jar.token, `user ${i}: a rotation was applied after its caller had given up`);
  }
}

/** Error replies Redis has sent since it started (INFO errorstats, every kind). */
async function redisErrorReplies(port: number): Promise<number> {
  const info = String(await redisCommand(port, 'INFO', 'errorstats'));
  return [...info.matchAll(/^errorstat_[^:]+:count=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

for (const platform of PLATFORMS)
  for (const kind of STORE_KINDS) {
    describe(
      `a stalled sidecar logs nobody out (SIGSTOP past requestTimeout, ${kind} store, ${platform})`,
      { skip: process.platform !== 'linux' && 'reads /proc' },
      () => {
        const app = useFaultApp(() => storeUnderTest(kind), platform, TIMING);

        it(`${USERS} active users and a stall longer than requestTimeout: the requests during it get 503, then 0 logged out`, async () => {
          const { t, events } = app;
          const jars = await activeUsers(t.server, `stall-${kind}-${platform}`, USERS);
          const revokedBefore = (await t.xems.stats()).revoked;
          const tokensBefore = jars.map((j) => j.token);
          const pid = t.xems.sidecar.pid!;
          const statuses = await whileStopped(pid, () => requestsDuringStall(jars));
          assert.deepEqual(new Set(statuses), new Set([503]), 'every request during the stall got 503');
          assert.deepEqual(
            jars.map((j) => j.token),
            tokensBefore,
            'a 503 sets no cookie',
          );
          assert.equal(t.xems.sidecar.pid, pid, 'the same sidecar resumed');

          await noLateRotation(t, jars);
          await everyoneComesBack(t, jars, events, revokedBefore);
        });
      },
    );
  }

for (const platform of PLATFORMS)
  describe(`Redis behind a slow link logs nobody out (the deadline travels to the Redis scripts, ${platform})`, () => {
    let redis: RedisServer;
    let link: SlowLink;
    const app = useFaultApp(
      async () => {
        redis = await startRedis();
        link = await startSlowLink(redis.port);
        return {
          options: redisStoreOptions(link.url),
          stop: async () => {
            await link?.close();
            await redis?.stop();
          },
        };
      },
      platform,
      TIMING,
    );

    it(`${USERS} active users, the link holds their rotations past requestTimeout: 503, the late scripts change nothing, 0 logged out`, async () => {
      const { t, events } = app;
      const jars = await activeUsers(t.server, `slow-link-${platform}`, USERS);
      const revokedBefore = (await t.xems.stats()).revoked;
      link.hold('scripts');
      const sentAt = Date.now();
      const statuses = await requestsDuringStall(jars);
      assert.deepEqual(new Set(statuses), new Set([503]), 'every request behind the held link got 503');
      const held = link.heldScripts;
      assert.ok(held > 0, 'the link held rotation scripts');
      const errorsBefore = await redisErrorReplies(redis.port);
      // Every held script's deadline (sent + requestTimeout) has passed when the link delivers it.
      await sleep(Math.max(0, sentAt + REQUEST_TIMEOUT_MS + 300 - Date.now()));
      link.release();

      // The store's breaker opened during the hold: wait until it answers again (bounded).
      for (let attempt = 0; ; attempt++) {
        try {
          await t.xems.resolveSession(jars[0].token);
          break;
        } catch (err) {
          if (attempt >= 100) throw err;
          await sleep(100);
        }
      }
      await noLateRotation(t, jars);
      // Redis ran every held script, late, and each refused itself (XEMS_DEADLINE_EXCEEDED). A few
      // more may refuse themselves: scripts the sidecar queued behind a held pipeline (batch.go)
      // and wrote just after the release, past their deadline; they change nothing either.
      for (let attempt = 0; (await redisErrorReplies(redis.port)) - errorsBefore < held; attempt++) {
        assert.ok(attempt < 50, `Redis refused ${(await redisErrorReplies(redis.port)) - errorsBefore} of the ${held} late scripts`);
        await sleep(100);
      }
      const refused = (await redisErrorReplies(redis.port)) - errorsBefore;
      assert.ok(refused >= held && refused <= held + USERS, `${refused} refusals for ${held} late scripts`);
      await everyoneComesBack(t, jars, events, revokedBefore);
    });
  });
