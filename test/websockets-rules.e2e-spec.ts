import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { XemsEvent, XemsModuleOptions } from '../src';
import { Device, challengeOf } from './support/dbsc-device';
import { standaloneRedis, uniqueKeyPrefix } from './support/redis-servers';
import { cookieToken, sleep } from './support/xems-test-app';
import { TestSocket, WS_PLATFORMS, type WsCredentials, type WsPlatform, type WsTestApp, closesWithin, createWsApp } from './support/ws-app';

// The rules HTTP applies before anything changes apply to WebSockets too (S_PEEK, S_PEEK_ID):
// a device-bound session past its proof deadline opens no socket and its open sockets are
// closed at the deadline (a timer; a guarded message would find it too: socket-guard.spec); the client binding refuses a handshake from another client and never revokes
// the session; with the Redis store, a session that expires by Redis's TTL closes its idle
// sockets without any message. Real sidecar, real clients, memory and Redis stores.

const OWNER = 'owner-agent/1.0';
const THIEF = 'thief-agent/2.0';
const LIFETIME_MS = 2000;
const REGISTER = '/.well-known/xems/dbsc/register';
const REFRESH = '/.well-known/xems/dbsc/refresh';

interface RulesApp extends WsTestApp {
  events: XemsEvent[];
}

async function rulesApp(platform: WsPlatform, options: XemsModuleOptions): Promise<RulesApp> {
  const t = await createWsApp(platform, options);
  const events: XemsEvent[] = [];
  const sub = t.xems.events$.subscribe((e) => events.push(e));
  return {
    ...t,
    events,
    close: async () => {
      sub.unsubscribe();
      await t.close();
    },
  };
}

async function login(t: WsTestApp, user: string, body: Record<string, unknown> = {}): Promise<{ token: string; offer: unknown }> {
  const res = await request(t.server)
    .post('/login')
    .set('User-Agent', OWNER)
    .send({ user, ...body });
  assert.equal(res.status, 200);
  return { token: cookieToken(res)!, offer: res.headers['secure-session-registration'] };
}

/** GET /me as the owner's client: the status. */
async function me(t: WsTestApp, token: string): Promise<number> {
  return (await request(t.server).get('/me').set('User-Agent', OWNER).set('Cookie', `xems_token=${token}`)).status;
}

/** The browser's DBSC registration with the login's offer: the bound session's identifier. */
async function registerDevice(t: WsTestApp, token: string, offer: unknown, device: Device): Promise<string> {
  const reg = await request(t.server)
    .post(REGISTER)
    .set('User-Agent', OWNER)
    .set('Cookie', `xems_token=${token}`)
    .set('Secure-Session-Response', `"${device.proof(challengeOf(offer, 'challenge'), true)}"`);
  assert.equal(reg.status, 200);
  return (reg.body as { session_identifier: string }).session_identifier;
}

/** The browser's DBSC refresh: a challenge, then a proof signed by the device key. */
async function refreshDevice(t: WsTestApp, token: string, id: string, device: Device): Promise<void> {
  const refresh = () =>
    request(t.server).post(REFRESH).set('User-Agent', OWNER).set('Cookie', `xems_token=${token}`).set('Sec-Secure-Session-Id', `"${id}"`);
  const ask = await refresh();
  assert.equal(ask.status, 403);
  const proof = device.proof(challengeOf(ask.headers['secure-session-challenge'], 'first'), false);
  assert.equal((await refresh().set('Secure-Session-Response', `"${proof}"`)).status, 200);
}

/** The reason of the handshake's refusal (xems:unauthorized, or socket.io's connect_error), once closed. */
async function refusal(s: TestSocket): Promise<unknown> {
  const e = await s.waitFor((x) => x.event === 'xems:unauthorized', 5000);
  assert.ok(await closesWithin(s, 5000), 'the refused socket was closed');
  return (e.data as { reason: unknown }).reason;
}

function rules(storeName: string, store: (name: string) => XemsModuleOptions): void {
  for (const platform of WS_PLATFORMS) {
    describe(`WebSocket handshakes and messages obey device and client binding (${storeName}, ${platform})`, () => {
      let t: RulesApp;
      const sockets: TestSocket[] = [];
      const connect = (creds: WsCredentials) => {
        const s = new TestSocket(platform, t.port, creds);
        sockets.push(s);
        return s;
      };
      before(async () => {
        t = await rulesApp(platform, {
          ...store(`rules-${platform}-`),
          binding: { userAgent: true },
          deviceBound: { lifetime: LIFETIME_MS },
        });
      });
      after(async () => {
        for (const s of sockets) s.close();
        await t.close();
      });

      it('device-bound: a socket opens within the proof deadline and is closed at the deadline without any message; a handshake past it is refused; the session is kept, and a refresh lets sockets in and keeps them open past the old deadline', async () => {
        const device = new Device();
        const { token, offer } = await login(t, 'dev');
        const id = await registerDevice(t, token, offer, device);

        const early = connect({ cookie: token, userAgent: OWNER });
        await early.opened();
        const answer = await early.ask('whoami');
        assert.equal(answer.event, 'whoami', JSON.stringify(answer));

        // Nobody refreshes: the socket's timer at the proof deadline closes it, no message needed.
        assert.ok(await closesWithin(early, LIFETIME_MS + 5000), 'the open socket was closed at the deadline');
        assert.deepEqual(early.events.find((e) => e.event === 'xems:session-ended')?.data, { reason: 'device-proof-overdue' });

        const late = connect({ cookie: token, userAgent: OWNER });
        assert.equal(await refusal(late), 'device-proof-overdue');
        assert.equal(late.events.filter((e) => e.event === 'whoami').length, 0);
        assert.equal(await me(t, token), 401, 'HTTP refuses it too');
        assert.equal((await t.xems.listSessions('dev')).length, 1, 'the session is kept for its device');

        // The browser's DBSC refresh lets a socket in; refreshed again before the deadline, the
        // socket stays open past it (the timer re-checks and finds the deadline moved).
        await refreshDevice(t, token, id, device);
        const again = connect({ cookie: token, userAgent: OWNER });
        await again.opened();
        assert.equal((await again.ask('whoami')).event, 'whoami');
        const firstDeadline = Date.now() + LIFETIME_MS;
        await sleep(LIFETIME_MS / 2);
        await refreshDevice(t, token, id, device);
        await sleep(Math.max(0, firstDeadline - Date.now()) + 500);
        assert.ok(!again.events.some((e) => e.event === 'xems:session-ended'), JSON.stringify(again.events));
        assert.equal((await again.ask('whoami')).event, 'whoami', 'the owner keeps its socket across refreshes');
      });

      it('device-bound: a socket opened before the device registered is closed at the proof deadline without any message', async () => {
        const device = new Device();
        const { token, offer } = await login(t, 'dev-late');
        const first = connect({ cookie: token, userAgent: OWNER });
        await first.opened(); // the session is not bound yet: no deadline to check
        assert.equal((await first.ask('whoami')).event, 'whoami');
        await registerDevice(t, token, offer, device);
        // Nobody refreshes and the socket sends nothing: it must not outlive the deadline.
        assert.ok(await closesWithin(first, LIFETIME_MS + 5000), 'the socket opened before registration was closed at the deadline');
        assert.deepEqual(first.events.find((e) => e.event === 'xems:session-ended')?.data, { reason: 'device-proof-overdue' });
      });

      it("binding (onMismatch 'revoke'): a handshake from another User-Agent is refused (binding-mismatch), and the session is not revoked", async () => {
        const { token } = await login(t, 'bound');
        const thief = connect({ cookie: token, userAgent: THIEF });
        assert.equal(await refusal(thief), 'binding-mismatch');
        const mismatch = t.events.find((e) => e.type === 'binding.mismatch');
        assert.deepEqual(mismatch && { ...mismatch, sessionId: undefined }, {
          type: 'binding.mismatch',
          sandbox: 'xems.session',
          sessionId: undefined,
          ip: false,
          userAgent: true,
          action: 'reject',
        });
        assert.ok(!t.events.some((e) => e.type === 'session.revoked'), 'no revocation');
        assert.equal(await me(t, token), 200, 'the owner keeps the session over HTTP');
        const owner = connect({ cookie: token, userAgent: OWNER });
        await owner.opened();
        assert.equal((await owner.ask('whoami')).event, 'whoami');
      });
    });
  }

  const modes: Array<['reject' | 'log', WsPlatform]> = [
    ['reject', 'socket.io'],
    ['log', 'ws'],
  ];
  for (const [onMismatch, platform] of modes) {
    describe(`WebSocket handshakes with binding onMismatch '${onMismatch}' (${storeName}, ${platform})`, () => {
      let t: RulesApp;
      const sockets: TestSocket[] = [];
      before(async () => {
        t = await rulesApp(platform, { ...store(`${onMismatch}-`), binding: { userAgent: true, onMismatch } });
      });
      after(async () => {
        for (const s of sockets) s.close();
        await t.close();
      });

      it(
        onMismatch === 'log'
          ? 'accepts another User-Agent and emits binding.mismatch (log)'
          : 'refuses another User-Agent, the session kept',
        async () => {
          const { token } = await login(t, onMismatch);
          const s = new TestSocket(platform, t.port, { cookie: token, userAgent: THIEF });
          sockets.push(s);
          if (onMismatch === 'log') {
            await s.opened();
            assert.equal((await s.ask('whoami')).event, 'whoami');
          } else {
            assert.equal(await refusal(s), 'binding-mismatch');
          }
          const mismatch = t.events.find((e) => e.type === 'binding.mismatch');
          assert.equal(mismatch?.type === 'binding.mismatch' && mismatch.action, onMismatch);
          assert.equal(await me(t, token), 200, 'the owner keeps the session over HTTP');
        },
      );
    });
  }
}

rules('memory store', () => ({}));

// The handshake's address is the one HTTP sees: Express's req.ip with the app's 'trust proxy'.
for (const platform of WS_PLATFORMS) {
  describe(`WebSocket handshakes with binding.ip behind a trusted proxy (Express, ${platform})`, () => {
    let t: RulesApp;
    const sockets: TestSocket[] = [];
    before(async () => {
      t = await rulesApp(platform, { binding: { ip: 'exact', onMismatch: 'reject' } });
      (t.app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void }).set('trust proxy', 1);
    });
    after(async () => {
      for (const s of sockets) s.close();
      await t.close();
    });

    it('accepts the address the session was created from, refuses another one (binding-mismatch)', async () => {
      const res = await request(t.server).post('/login').set('X-Forwarded-For', '198.51.100.7').send({ user: 'proxied' });
      assert.equal(res.status, 200);
      const token = cookieToken(res)!;
      const owner = new TestSocket(platform, t.port, { cookie: token, forwardedFor: '198.51.100.7' });
      const other = new TestSocket(platform, t.port, { cookie: token, forwardedFor: '203.0.113.1' });
      sockets.push(owner, other);
      await owner.opened();
      assert.equal((await owner.ask('whoami')).event, 'whoami');
      assert.equal(await refusal(other), 'binding-mismatch');
      const mismatch = t.events.find((e) => e.type === 'binding.mismatch');
      assert.equal(mismatch?.type === 'binding.mismatch' && mismatch.ip, true);
    });
  });
}

describe('Redis store', () => {
  let redis: Awaited<ReturnType<typeof standaloneRedis>>;
  const redisStore = (name: string): XemsModuleOptions => ({
    store: { type: 'redis', url: redis.url, keyPrefix: uniqueKeyPrefix(`ws-${name}`) },
    persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
    hardwareBinding: { id: 'ws-rules-e2e' },
  });
  before(async () => {
    redis = await standaloneRedis();
  });
  after(async () => redis.stop());

  rules('Redis store', redisStore);

  // Redis expires a session's keys by itself and tells nobody: the socket's timer at the
  // session's expiry re-checks it. Idle timeout 3 s; waits bounded with wide margins.
  for (const platform of WS_PLATFORMS) {
    describe(`WebSockets notice a Redis expiry without any message (${platform})`, () => {
      let t: RulesApp;
      const sockets: TestSocket[] = [];
      const connect = (token: string) => {
        const s = new TestSocket(platform, t.port, { cookie: token, userAgent: OWNER });
        sockets.push(s);
        return s;
      };
      before(async () => {
        t = await rulesApp(platform, { ...redisStore(`expiry-${platform}-`), idleTimeout: '3s' });
      });
      after(async () => {
        for (const s of sockets) s.close();
        await t.close();
      });

      it('an idle socket is closed (expired) once its session expires, and HTTP agrees it is gone', async () => {
        const { token } = await login(t, 'idle');
        const s = connect(token);
        await s.opened();
        assert.equal((await s.ask('whoami')).event, 'whoami');
        assert.ok(await closesWithin(s, 12_000), 'the idle socket was closed after the session expired');
        assert.deepEqual(s.events.find((e) => e.event === 'xems:session-ended')?.data, { reason: 'expired' });
        assert.equal(await me(t, token), 401);
      });

      it('a session kept alive over HTTP past its first expiry keeps its socket (the timer re-checks, the expiry slid)', async () => {
        let { token } = await login(t, 'busy');
        const s = connect(token);
        await s.opened();
        for (let i = 0; i < 5; i++) {
          await sleep(1000);
          const res = await request(t.server).get('/me').set('User-Agent', OWNER).set('Cookie', `xems_token=${token}`);
          assert.equal(res.status, 200, `request ${i}`);
          token = cookieToken(res) ?? token;
        }
        assert.ok(!s.events.some((e) => e.event === 'xems:session-ended'), JSON.stringify(s.events));
        assert.equal((await s.ask('whoami')).event, 'whoami', 'the socket still works after 5 s of a 3 s idle timeout');
      });
    });
  }
});
