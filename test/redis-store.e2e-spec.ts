import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { Test } from '@nestjs/testing';
import { XemsConfigError, XemsModule, XemsModuleOptions, XemsStore, createStandaloneXems } from '../src';
import { PLATFORMS, TestApp, type TestPlatform, cookieToken, createTestApp, sleep } from './support/xems-test-app';
import { clusterRedis, dumpKeys, scanKeys, startRedis, standaloneRedis, uniqueKeyPrefix } from './support/redis-servers';

// Two NestJS apps (two sidecars) on one Redis, then on a 3-master Redis Cluster; a Redis
// restart in the middle of traffic; and every key left in Redis read back for secrets.

const TOKEN = /^[A-Za-z0-9_-]{70}$/;
const SECRET = `base64:${randomBytes(32).toString('base64')}`;
const MARKER = 'MARKER-5ea1ed-';

/** Every token the tests saw, and every plaintext they planted: none may appear in Redis. */
const seen = new Set<string>();

function options(store: XemsModuleOptions['store'], extra: XemsModuleOptions = {}): XemsModuleOptions {
  return {
    store,
    persistence: { secret: SECRET },
    hardwareBinding: { id: 'e2e-deployment' },
    // Long enough for 50 concurrent requests on a loaded 2-core machine to all arrive inside it.
    gracePeriod: 1500,
    ...extra,
  };
}

async function login(app: TestApp, user: string): Promise<string> {
  const res = await request(app.server)
    .post('/login')
    .send({ user: `${MARKER}${user}` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const token = cookieToken(res)!;
  assert.match(token, TOKEN);
  seen.add(token);
  return token;
}

/** Starts the module alone and returns the error its start-up fails with. */
async function startFails(o: XemsModuleOptions): Promise<unknown> {
  let ref;
  try {
    ref = await Test.createTestingModule({ imports: [XemsModule.forRoot(o)] })
      .setLogger(false as never)
      .compile();
    await ref.init();
  } catch (err) {
    await ref?.close().catch(() => undefined);
    return err;
  }
  await ref.close();
  assert.fail('the module started');
}

function me(app: TestApp, token: string, path = '/me') {
  return request(app.server).get(path).set('Cookie', `xems_token=${token}`);
}

/** The shared-store scenarios, run against a standalone server and against a cluster. */
function sharedStoreScenarios(name: string, store: () => XemsModuleOptions['store'], platform: TestPlatform) {
  describe(`two app instances on ${name} (${platform})`, () => {
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      a = await createTestApp(options(store()), platform);
      b = await createTestApp(options(store()), platform);
    });
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    it('a session made on A resolves on B, and rotates there', async () => {
      const token = await login(a, 'alice');
      const res = await me(b, token);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { user: `${MARKER}alice`, email: `${MARKER}alice@example.test` });
      const next = cookieToken(res)!;
      assert.ok(next && next !== token, 'B rotated the token');
      seen.add(next);
      const back = await me(a, next);
      assert.equal(back.status, 200, 'and A accepts the successor B issued');
      seen.add(cookieToken(back)!);
    });

    it('50 concurrent requests split over A and B with one token give exactly one successor; reuse after grace revokes on both', async () => {
      const token = await login(a, 'con');
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => me(i % 2 ? a : b, token, '/me/slow?ms=10')));
      assert.deepEqual([...new Set(responses.map((r) => r.status))], [200]);
      const successors = new Set(responses.map((r) => cookieToken(r)));
      assert.equal(successors.size, 1, `one successor for all 50, got ${successors.size}`);
      const successor = [...successors][0]!;
      assert.notEqual(successor, token);
      seen.add(successor);
      // The client presents the successor on B (B rotates again); the old token is now one whose
      // successor was used. Inside the grace period (1.5 s) it still works on both...
      const third = cookieToken(await me(b, successor))!;
      seen.add(third);
      assert.equal((await me(b, token)).status, 200);
      // ...past it, presenting it is reuse: the session is revoked, on both instances.
      await sleep(1700);
      assert.equal((await me(a, token)).status, 401);
      assert.equal((await me(b, third)).status, 401, 'the revoke reached B');
      assert.equal((await me(a, third)).status, 401);
    });

    it('list and revoke-all through either instance; the data the app stores is shared', async () => {
      const t1 = await login(a, 'dev');
      const t2 = await login(b, 'dev');
      const list = await me(a, t1, '/me/devices');
      assert.equal(list.status, 200);
      assert.equal((list.body as unknown[]).length, 2, 'both sessions of the user are listed');
      const t1b = cookieToken(list)!;
      seen.add(t1b);
      await b.xems.revokeSessions(`${MARKER}dev`);
      assert.equal((await me(a, t1b)).status, 401);
      assert.equal((await me(a, t2)).status, 401);
      await a.xems.from('kv').set(`${MARKER}key`, { secret: `${MARKER}value` });
      assert.deepEqual(await b.xems.from('kv').get(`${MARKER}key`), { secret: `${MARKER}value` });
    });
  });
}

describe('the Redis store', () => {
  let standalone: Awaited<ReturnType<typeof standaloneRedis>>;
  let cluster: Awaited<ReturnType<typeof clusterRedis>>;
  const prefix = uniqueKeyPrefix('e2e');
  before(async () => {
    standalone = await standaloneRedis();
    cluster = await clusterRedis();
  });
  after(async () => {
    // Read every key and value the tests left in Redis: no token, user id or planted plaintext.
    const ports = [standalone.port, ...cluster.ports];
    let keys = 0;
    for (const port of ports) {
      for (const blob of await dumpKeys(port, `${prefix}*`)) {
        keys++;
        const text = blob.toString('latin1');
        assert.ok(!text.includes(MARKER), 'a planted plaintext reached Redis');
        assert.ok(!text.includes('5ea1ed'), 'a planted plaintext reached Redis');
        for (const token of seen) assert.ok(!text.includes(token), 'a token reached Redis');
      }
    }
    assert.ok(keys > 20, `the scan saw ${keys} keys`);
    assert.ok(seen.size > 10, `${seen.size} tokens checked`);
    await Promise.all([standalone.stop(), cluster.stop()]);
  });

  for (const platform of PLATFORMS) {
    sharedStoreScenarios('one Redis server', () => ({ type: 'redis', url: standalone.url, keyPrefix: prefix }), platform);
    sharedStoreScenarios('a 3-master Redis Cluster', () => ({ type: 'redis', cluster: cluster.urls, keyPrefix: prefix }), platform);
  }

  it('sessions are spread over all three masters of the cluster', async () => {
    const app = await createTestApp(options({ type: 'redis', cluster: cluster.urls, keyPrefix: `${prefix}spread:` }));
    try {
      for (let i = 0; i < 30; i++) await login(app, `spread-${i}`);
      const perNode = await Promise.all(
        cluster.ports.map(async (port) => (await scanKeys(port, `${prefix}spread:*`)).filter((k) => k.includes('}:s:')).length),
      );
      assert.equal(
        perNode.reduce((x, y) => x + y, 0),
        30,
      );
      assert.ok(
        perNode.every((n) => n > 0),
        `sessions per master: ${perNode.join(', ')}`,
      );
    } finally {
      await app.close();
    }
  });

  it('express-session + XemsStore on Redis: two standalone services share the sessions', async () => {
    const storeOptions = options({ type: 'redis', url: standalone.url, keyPrefix: prefix });
    const [x1, x2] = await Promise.all([createStandaloneXems(storeOptions), createStandaloneXems(storeOptions)]);
    try {
      const build = (store: XemsStore) => {
        const app = express();
        app.use(session({ secret: 'cookie signing', resave: false, saveUninitialized: false, store }));
        app.get('/count', (req, res) => {
          const s = req.session as unknown as { n?: number };
          s.n = (s.n ?? 0) + 1;
          res.json({ n: s.n });
        });
        return app;
      };
      const one = build(new XemsStore({ xems: x1 }));
      const two = build(new XemsStore({ xems: x2 }));
      const first = await request(one).get('/count');
      const cookie = (first.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
      assert.deepEqual((await request(two).get('/count').set('Cookie', cookie)).body, { n: 2 });
      assert.deepEqual((await request(one).get('/count').set('Cookie', cookie)).body, { n: 3 });
    } finally {
      await Promise.all([x1.onApplicationShutdown(), x2.onApplicationShutdown()]);
    }
  });

  it('start-up refuses hardwareBinding: true, a missing secret, and an instance with another secret or identity', async () => {
    const store = { type: 'redis' as const, url: standalone.url, keyPrefix: prefix };
    const refused = async (o: XemsModuleOptions, field: string, problem: RegExp) => {
      const err = await startFails(o);
      assert.ok(err instanceof XemsConfigError, String(err));
      assert.equal(err.field, field);
      assert.match(err.message, problem);
      assert.ok(!err.message.includes(SECRET.slice(7)), 'the message never echoes the secret');
    };
    await refused({ ...options(store), hardwareBinding: true }, 'hardwareBinding', /machine-id; with store type 'redis' several machines/);
    await refused({ ...options(store), hardwareBinding: undefined }, 'hardwareBinding', /defaults to true/);
    await refused({ store, hardwareBinding: { id: 'x' } }, 'persistence.secret', /is required with store type 'redis'/);
    await refused(
      { ...options(store), persistence: { secret: SECRET, enabled: true, path: '/tmp/xems-unused' } },
      'persistence.enabled',
      /Redis keeps the records/,
    );
    // These two reach Redis: the key check written by the first instance refuses them.
    await refused(
      { ...options(store), persistence: { secret: `base64:${randomBytes(32).toString('base64')}` } },
      'persistence.secret',
      /other instances/,
    );
    await refused({ ...options(store), hardwareBinding: { id: 'another-deployment' } }, 'hardwareBinding', /other instances/);
  });
});

for (const platform of PLATFORMS) {
  describe(`a sidecar crash with the Redis store (${platform})`, () => {
    it('loses nothing: the restarted sidecar serves the same sessions from Redis', async () => {
      const redis = await standaloneRedis();
      const app = await createTestApp(options({ type: 'redis', url: redis.url, keyPrefix: uniqueKeyPrefix('crash') }), platform);
      try {
        let token = await login(app, 'crash');
        const pid = app.xems.sidecar.pid!;
        process.kill(pid, 'SIGKILL');
        const deadline = Date.now() + 15_000; // a process start on a loaded machine
        let res;
        do {
          await sleep(50);
          res = await me(app, token);
          assert.ok([200, 503].includes(res.status), `status ${res.status}`);
        } while (res.status !== 200 && Date.now() < deadline);
        assert.equal(res.status, 200, 'served again after the restart');
        assert.notEqual(app.xems.sidecar.pid, pid, 'by a new sidecar');
        assert.equal(res.body.user, `${MARKER}crash`);
        token = cookieToken(res)!;
        seen.add(token);
      } finally {
        await app.close();
        await redis.stop();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`a Redis restart in the middle of traffic (${platform})`, () => {
    it('answers 503 quickly while Redis is down (never 500, never a pass), then recovers by itself without losing the session', async () => {
      // appendfsync always: every write Redis acknowledged is on disk, so a SIGKILL loses none.
      const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
      const app = await createTestApp(
        options({ type: 'redis', url: redis.url, timeout: 300 }, { sidecar: { requestTimeout: '2s' } }),
        platform,
      );
      try {
        let token = await login(app, 'restart');
        const statuses: number[] = [];
        let killedAt = 0;
        let restartedAt = 0;
        let recovered = false;
        // A bounded run, one request every 10 ms, ending at the first 200 after the restart: 1500
        // requests at most, so the store's breaker (open up to 2 s between probes) has at least
        // 14 s after the restart to let a probe through, also on a loaded machine.
        for (let i = 0; i < 1500 && !recovered; i++) {
          if (i === 20) {
            await redis.kill();
            killedAt = statuses.length;
          }
          if (i === 60) {
            await redis.restart();
            restartedAt = statuses.length;
          }
          const started = Date.now();
          const res = await me(app, token);
          const took = Date.now() - started;
          statuses.push(res.status);
          assert.ok([200, 503].includes(res.status), `status ${res.status} at request ${i}`);
          if (res.status === 503) {
            assert.equal(res.headers['retry-after'], '1');
            assert.ok(took < 1500, `a 503 took ${took} ms`);
            assert.equal(cookieToken(res), undefined, 'no token change without the store');
          } else {
            token = cookieToken(res)!;
            seen.add(token);
            if (restartedAt && i > restartedAt) recovered = true;
          }
          await sleep(10);
        }
        assert.ok(killedAt > 0 && restartedAt > killedAt);
        assert.ok(
          statuses.slice(0, killedAt).every((s) => s === 200),
          'before the kill: 200',
        );
        assert.ok(
          statuses.slice(killedAt, restartedAt).every((s) => s === 503),
          'while Redis is down: 503 every time',
        );
        assert.ok(recovered, `no 200 after the restart: ${statuses.slice(restartedAt).join(',')}`);
        assert.equal((await me(app, token)).body.user, `${MARKER}restart`, 'the same session goes on after the restart');
      } finally {
        await app.close();
        await redis.stop();
      }
    });
  });
}
