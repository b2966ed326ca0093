import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { XemsSessionInfo } from '../src';
import { FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, cookieToken, sleep } from './support/xems-test-app';

/** One browser: its own address, user agent and cookie, following token rotations. */
class Device {
  token = '';
  constructor(
    private readonly t: FeaturesApp,
    readonly ip: string,
    readonly userAgent: string,
  ) {}

  private send(req: request.Test): request.Test {
    req.set('X-Forwarded-For', this.ip).set('User-Agent', this.userAgent);
    if (this.token) req.set('Cookie', `xems_token=${this.token}`);
    return req;
  }

  async call(method: 'get' | 'post' | 'delete', path: string, body?: object): Promise<request.Response> {
    const req = this.send(request(this.t.server)[method](path));
    const res = await (body ? req.send(body) : req);
    this.token = cookieToken(res) ?? this.token;
    return res;
  }

  async login(user: string, device?: string): Promise<request.Response> {
    this.token = '';
    return this.call('post', '/auth/login', { user, device });
  }
}

for (const platform of PLATFORMS) {
  describe(`devices: two clients, listing and revocation (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      // requestContext on whatever the Node version ('auto' turns it on only on Node 24+).
      t = await createFeaturesApp({ requestContext: true }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('lists each device with created/last-seen times, address, user agent, label, and marks the caller current', async () => {
      const phone = new Device(t, '198.51.100.7', 'PhoneBrowser/1.0');
      const laptop = new Device(t, '2001:db8::42', 'LaptopBrowser/2.0');
      const before = Date.now();
      assert.equal((await phone.login('dana', 'phone')).status, 200);
      assert.equal((await laptop.login('dana', 'laptop')).status, 200);
      await sleep(30);
      assert.equal((await laptop.call('get', '/me')).status, 200);
      const res = await phone.call('get', '/me/devices');
      assert.equal(res.status, 200);
      const list = res.body as XemsSessionInfo[];
      assert.equal(list.length, 2);
      const byDevice = new Map(list.map((s) => [s.device, s]));
      const p = byDevice.get('phone')!;
      const l = byDevice.get('laptop')!;
      assert.deepEqual([p.ip, p.userAgent, p.current], ['198.51.100.7', 'PhoneBrowser/1.0', true]);
      assert.deepEqual([l.ip, l.userAgent, l.current], ['2001:db8::42', 'LaptopBrowser/2.0', false]);
      for (const s of list) {
        assert.ok(s.createdAt >= before - 5 && s.createdAt <= Date.now(), 'createdAt');
        assert.ok(s.lastSeenAt >= s.createdAt && s.expiresAt > s.lastSeenAt, 'lastSeenAt');
        assert.match(s.id, /^[A-Za-z0-9_-]{22}$/);
      }
      assert.ok(l.lastSeenAt > l.createdAt, 'the laptop was seen after its login');
      assert.equal(list[0].device, 'laptop', 'newest first');
      // `current` may also be a token or a request's session, given explicitly.
      const explicit = await t.xems.listSessions('dana', { current: laptop.token });
      assert.deepEqual(
        explicit.filter((s) => s.current).map((s) => s.device),
        ['laptop'],
      );
      assert.ok(!JSON.stringify(list).includes(phone.token.slice(0, 30)), 'no token material in the list');
    });

    it('revokeSessionById: the revoked device gets 401 on its very next request', async () => {
      const a = new Device(t, '203.0.113.1', 'A');
      const b = new Device(t, '203.0.113.2', 'B');
      await a.login('erin', 'a');
      await b.login('erin', 'b');
      const list = (await a.call('get', '/me/devices')).body as XemsSessionInfo[];
      const bId = list.find((s) => s.device === 'b')!.id;
      assert.deepEqual((await a.call('delete', `/me/devices/${bId}`)).body, { revoked: true });
      assert.equal((await b.call('get', '/me')).status, 401);
      assert.equal((await a.call('get', '/me')).status, 200);
      assert.deepEqual(
        (await t.xems.listSessions('erin')).map((s) => s.device),
        ['a'],
      );
      assert.ok(t.events.some((e) => e.type === 'session.revoked' && e.sessionId === bId && e.reason === 'revoked'));
    });

    it('revokeSessions with except: log out everywhere else, then everywhere', async () => {
      const devices = [new Device(t, '10.0.0.1', 'one'), new Device(t, '10.0.0.2', 'two'), new Device(t, '10.0.0.3', 'three')];
      for (const [i, d] of devices.entries()) await d.login('fay', `d${i}`);
      const res = await devices[0].call('post', '/me/logout-others');
      assert.deepEqual(res.body, { revoked: 2 });
      assert.equal((await devices[1].call('get', '/me')).status, 401);
      assert.equal((await devices[2].call('get', '/me')).status, 401);
      assert.equal((await devices[0].call('get', '/me')).status, 200);
      // except as a token (any generation of the session)
      await devices[1].login('fay', 'd1');
      assert.equal(await t.xems.revokeSessions('fay', { except: devices[1].token }), 1);
      assert.equal((await devices[0].call('get', '/me')).status, 401);
      assert.equal((await devices[1].call('get', '/me')).status, 200);
      assert.deepEqual((await devices[1].call('post', '/me/logout-all')).body, { revoked: 1 });
      assert.equal((await devices[1].call('get', '/me')).status, 401);
      assert.deepEqual(await t.xems.listSessions('fay'), []);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`devices with requestContext off (no AsyncLocalStorage) (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({ requestContext: false }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('marks the caller current only when given the request; without it none is current', async () => {
      const phone = new Device(t, '198.51.100.8', 'PhoneBrowser/1.0');
      const laptop = new Device(t, '198.51.100.9', 'LaptopBrowser/2.0');
      assert.equal((await phone.login('olga', 'phone')).status, 200);
      assert.equal((await laptop.login('olga', 'laptop')).status, 200);
      const explicit = (await phone.call('get', '/me/devices-explicit')).body as XemsSessionInfo[];
      assert.deepEqual(
        explicit.filter((s) => s.current).map((s) => s.device),
        ['phone'],
      );
      const implicit = (await laptop.call('get', '/me/devices')).body as XemsSessionInfo[];
      assert.equal(implicit.length, 2);
      assert.deepEqual(
        implicit.filter((s) => s.current),
        [],
        'no request context: nothing marked current',
      );
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`maxSessionsPerUser (${platform})`, () => {
    it("'evict-oldest': a new login ends the user's oldest session", async () => {
      const t = await createFeaturesApp({ maxSessionsPerUser: 2 }, platform);
      try {
        const devices = [new Device(t, '10.1.0.1', 'a'), new Device(t, '10.1.0.2', 'b'), new Device(t, '10.1.0.3', 'c')];
        const ids: string[] = [];
        for (const d of devices) {
          assert.equal((await d.login('gus')).status, 200);
          ids.push(((await d.call('get', '/me')).body as { context: { id: string } }).context.id);
          await sleep(5);
        }
        assert.equal((await devices[0].call('get', '/me')).status, 401, 'the oldest was evicted');
        assert.equal((await devices[1].call('get', '/me')).status, 200);
        assert.equal((await devices[2].call('get', '/me')).status, 200);
        assert.ok(t.events.some((e) => e.type === 'session.revoked' && e.sessionId === ids[0] && e.reason === 'evicted'));
        assert.equal((await t.xems.stats()).evicted, 1);
        // Another user is not affected.
        const other = new Device(t, '10.1.0.4', 'd');
        await other.login('hal');
        assert.equal((await devices[1].call('get', '/me')).status, 200);
      } finally {
        await t.close();
      }
    });

    it('1: a new login ends the previous one', async () => {
      const t = await createFeaturesApp({ maxSessionsPerUser: 1 }, platform);
      try {
        const first = new Device(t, '10.2.0.1', 'first');
        const second = new Device(t, '10.2.0.2', 'second');
        await first.login('ivy');
        await second.login('ivy');
        assert.equal((await first.call('get', '/me')).status, 401);
        assert.equal((await second.call('get', '/me')).status, 200);
      } finally {
        await t.close();
      }
    });

    it("'reject': the login beyond the limit fails with XemsSessionLimitError and nothing changes", async () => {
      const t = await createFeaturesApp({ maxSessionsPerUser: 2, onLimit: 'reject' }, platform);
      try {
        const devices = [new Device(t, '10.3.0.1', 'a'), new Device(t, '10.3.0.2', 'b'), new Device(t, '10.3.0.3', 'c')];
        assert.equal((await devices[0].login('jo')).status, 200);
        assert.equal((await devices[1].login('jo')).status, 200);
        const refused = await devices[2].login('jo');
        assert.equal(refused.status, 409);
        assert.deepEqual(refused.body, { error: 'SESSION_LIMIT' });
        assert.equal((await devices[0].call('get', '/me')).status, 200);
        assert.equal((await devices[1].call('get', '/me')).status, 200);
        // After a logout there is room again.
        await devices[0].call('post', '/me/logout');
        assert.equal((await devices[2].login('jo')).status, 200);
        // Concurrent logins never exceed the limit.
        await t.xems.revokeSessions('jo');
        const many = Array.from({ length: 12 }, (_, i) => new Device(t, `10.3.1.${i}`, `m${i}`));
        const statuses = (await Promise.all(many.map((d) => d.login('jo')))).map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 200, ...Array(10).fill(409)]);
        assert.equal((await t.xems.listSessions('jo')).length, 2);
      } finally {
        await t.close();
      }
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`per-user index under churn, through the module (${platform})`, () => {
    it('concurrent logins, logouts, expiries and revoke-alls leave no orphan and no ghost', async () => {
      const t = await createFeaturesApp({ maxSessionsPerUser: 3, autoRotation: true }, platform);
      try {
        const users = ['u0', 'u1', 'u2'];
        const held: Device[] = [];
        let seq = 0;
        const worker = async (w: number) => {
          for (let i = 0; i < 25; i++) {
            const user = users[(w + i) % users.length];
            const op = (w * 7 + i * 3) % 10;
            if (op < 4) {
              const d = new Device(t, `10.9.${w}.${i}`, `churn-${w}`);
              await d.call('post', '/auth/login', { user, ttl: op === 0 ? '300ms' : '1m' });
              held.push(d);
            } else if (op < 6 && held.length) {
              await held[seq++ % held.length].call('post', '/me/logout');
            } else if (op < 8 && held.length) {
              await held[seq++ % held.length].call('get', '/me');
            } else if (op === 8 && held.length) {
              await held[seq++ % held.length].call('post', '/me/logout-all');
            } else {
              await sleep(40);
            }
          }
        };
        await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
        await sleep(400); // the 300 ms sessions have expired
        let listed = 0;
        for (const user of users) {
          const ids = new Set((await t.xems.listSessions(user)).map((s) => s.id));
          const truth = new Set<string>();
          for (const d of held) {
            const s = d.token ? await t.xems.resolveSession<{ user: string }>(d.token) : null;
            if (s && s.data.user === user) truth.add(s.id);
          }
          assert.deepEqual([...ids].sort(), [...truth].sort(), `${user}: listed sessions equal the live ones`);
          assert.ok(ids.size <= 3, `${user} has ${ids.size} sessions, over the limit`);
          listed += ids.size;
        }
        const stats = await t.xems.stats();
        assert.equal(stats.sandboxes['xems.session']?.sessions ?? 0, listed, 'every session in the sandbox is listed: no orphan');
        assert.ok(
          stats.evicted + stats.revoked > 0 && stats.expired > 0,
          `the churn exercised eviction, logout and expiry: ${JSON.stringify(stats)}`,
        );
      } finally {
        await t.close();
      }
    });
  });
}
