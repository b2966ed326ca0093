import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { XemsModuleOptions } from '../src';
import { standaloneRedis, uniqueKeyPrefix } from './support/redis-servers';
import { cookieToken } from './support/xems-test-app';
import { TestSocket, WS_PLATFORMS, type WsTestApp, closesWithin, createWsApp } from './support/ws-app';

// Two app instances sharing one Redis: a session ended on one closes its sockets on the other
// (the sidecars announce ends over Redis pub/sub and report them in ENDED frames).
describe('WebSockets with the Redis store, two instances', () => {
  let redis: Awaited<ReturnType<typeof standaloneRedis>>;
  const apps: WsTestApp[] = [];
  const sockets: TestSocket[] = [];
  before(async () => {
    redis = await standaloneRedis();
  });
  after(async () => {
    for (const s of sockets) s.close();
    for (const app of apps) await app.close();
    await redis.stop();
  });

  for (const platform of WS_PLATFORMS) {
    it(`${platform}: logout on instance A disconnects the socket on instance B within 1 s; B's messages work until then`, async () => {
      const options: XemsModuleOptions = {
        store: { type: 'redis', url: redis.url, keyPrefix: uniqueKeyPrefix(`ws-${platform}-`) },
        persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
        hardwareBinding: { id: 'ws-e2e' },
      };
      const a = await createWsApp(platform, options);
      apps.push(a);
      const b = await createWsApp(platform, options);
      apps.push(b);

      const res = await request(a.server).post('/login').send({ user: 'shared' });
      assert.equal(res.status, 200);
      let token = cookieToken(res)!;
      const onB = new TestSocket(platform, b.port, { cookie: token });
      sockets.push(onB);
      await onB.opened();
      for (let i = 0; i < 3; i++) {
        const me = await request(a.server).get('/me').set('Cookie', `xems_token=${token}`);
        assert.equal(me.status, 200);
        token = cookieToken(me) ?? token;
        const answer = await onB.ask('whoami', { i });
        assert.equal(answer.event, 'whoami', JSON.stringify(answer));
        assert.equal((answer.data as { user: string }).user, 'shared');
      }

      const out = await request(a.server).post('/logout').set('Cookie', `xems_token=${token}`);
      assert.equal(out.status, 200);
      const loggedOut = performance.now();
      assert.ok(await closesWithin(onB, 5000), 'the socket on B was closed');
      const { at } = await onB.closed;
      assert.ok(at - loggedOut < 1000, `closed ${Math.round(at - loggedOut)} ms after the logout response on A`);
      assert.deepEqual(onB.events.find((e) => e.event === 'xems:session-ended')?.data, { reason: 'revoked' });
    });
  }
});
