import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { XemsModuleOptions } from '../src';
import { type StepUpApp, createStepUpApp } from './support/xems-step-up-app';
import { PLATFORMS, cookieToken, sleep } from './support/xems-test-app';
import { clusterRedis, standaloneRedis, uniqueKeyPrefix } from './support/redis-servers';

// Authentication time and method, @RequireFreshAuth, reauthenticated(), the reauthentication
// ceiling, revokeAll() and onCredentialChange(), over HTTP against the real sidecar (memory
// store, then Redis: one server and a 3-master cluster). @RequireFreshAuth on Express and
// Fastify (on resolvers: test/graphql-step-up.e2e-spec.ts).

async function login(t: StepUpApp, user: string, methods?: string[]) {
  const res = await request(t.server).post('/auth/login').send({ user, methods });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { token: cookieToken(res)!, body: res.body as { context: Record<string, unknown> } };
}

function get(t: StepUpApp, token: string, path: string) {
  return request(t.server).get(path).set('Cookie', `xems_token=${token}`);
}

function post(t: StepUpApp, token: string, path: string, body: object = {}) {
  return request(t.server).post(path).set('Cookie', `xems_token=${token}`).send(body);
}

/** Sends a request and returns its status and the token to use next (rotation). */
async function use(t: StepUpApp, token: string, path = '/me') {
  const res = await get(t, token, path);
  return { res, status: res.status, token: cookieToken(res) ?? token };
}

for (const platform of PLATFORMS)
  describe(`fresh authentication (memory store, ${platform})`, () => {
    let t: StepUpApp;
    before(async () => {
      t = await createStepUpApp({ freshAuthMaxAge: '3s' }, platform);
    });
    after(async () => {
      await t.close();
    });

    it('link() records the time and methods: getSessionContext and listSessions show them', async () => {
      const before = Date.now();
      const { token, body } = await login(t, 'ctx', ['pwd', 'otp']);
      assert.deepEqual(body.context.authMethods, ['pwd', 'otp']);
      const at = body.context.authenticatedAt as number;
      assert.ok(at >= before && at <= Date.now(), `authenticatedAt ${at}`);
      const r = await use(t, token, '/me');
      assert.equal(r.res.body.context.authenticatedAt, at);
      const devices = await use(t, r.token, '/me/devices');
      assert.equal(devices.status, 200);
      assert.equal(devices.res.body.length, 1);
      assert.equal(devices.res.body[0].authenticatedAt, at);
      assert.deepEqual(devices.res.body[0].authMethods, ['pwd', 'otp']);
    });

    it('@RequireFreshAuth(2s) passes after login, refuses with the RFC 9470 challenge after 2 s, passes again after reauthenticated; the old token dies', async () => {
      let { token } = await login(t, 'fresh', ['pwd']);
      let r = await use(t, token, '/me/sensitive');
      assert.equal(r.status, 200, 'right after login');
      token = r.token;
      await sleep(2300);
      r = await use(t, token, '/me/sensitive');
      assert.equal(r.status, 401, 'after 2 s');
      assert.equal(r.res.body.code, 'XEMS_FRESH_AUTH_REQUIRED');
      assert.equal(r.res.body.maxAge, 2);
      const challenge = String(r.res.headers['www-authenticate']);
      assert.match(challenge, /^Bearer /);
      assert.match(challenge, /error="insufficient_user_authentication"/);
      assert.match(challenge, /max_age=2(,|$)/);
      token = r.token;
      r = await use(t, token, '/me');
      assert.equal(r.status, 200, 'the refusal leaves the session alive');
      token = r.token;
      const reauth = await post(t, token, '/me/reauthenticate', { methods: ['pwd'] });
      assert.equal(reauth.status, 200);
      assert.equal(reauth.body.ok, true);
      assert.notEqual(reauth.body.context.id, reauth.body.before, 'a new session id (fixation rule)');
      assert.ok(reauth.body.context.authenticatedAt > Date.now() - 2000);
      const renewed = cookieToken(reauth)!;
      assert.ok(renewed && renewed !== token);
      assert.equal((await use(t, renewed, '/me/sensitive')).status, 200, 'fresh again after reauthenticated');
      assert.equal((await use(t, token, '/me')).status, 401, 'the token before the reauthentication is dead');
    });

    it('SessionGuard on the controller and @RequireFreshAuth on the handler resolve (and rotate) the token once', async () => {
      const { token } = await login(t, 'once');
      const rotations = () => t.events.filter((e) => e.type === 'session.rotated').length;
      const before = rotations();
      const r = await use(t, token, '/me/sensitive');
      assert.equal(r.status, 200);
      assert.equal(rotations() - before, 1, 'one rotation for one request');
      assert.equal((await use(t, r.token, '/me')).status, 200, 'the token the response carried is the live one');
    });

    it('a methods requirement refuses another method until the user reauthenticates with it', async () => {
      const { token } = await login(t, 'methods', ['pwd']);
      const r = await use(t, token, '/me/passkey-only');
      assert.equal(r.status, 401);
      assert.deepEqual(r.res.body.methods, ['webauthn']);
      const reauth = await post(t, r.token, '/me/reauthenticate', { methods: ['webauthn'] });
      assert.deepEqual(reauth.body.context.authMethods, ['webauthn']);
      assert.equal((await use(t, cookieToken(reauth)!, '/me/passkey-only')).status, 200);
    });

    it('@RequireFreshAuth() alone guards the route itself, with the module default (3 s)', async () => {
      assert.equal((await request(t.server).get('/alone')).status, 401, 'no session');
      const { token } = await login(t, 'alone');
      const r = await use(t, token, '/alone');
      assert.equal(r.status, 200);
      await sleep(3200);
      const late = await use(t, r.token, '/alone');
      assert.equal(late.status, 401);
      assert.match(String(late.res.headers['www-authenticate']), /max_age=3(,|$)/);
    });

    it('an unknown method is a 400 with a typed error, not a crash', async () => {
      const res = await request(t.server)
        .post('/auth/login')
        .send({ user: 'bad', methods: ['password'] });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'INVALID_AUTH_METHODS');
    });
  });

describe('the reauthentication ceiling', () => {
  let t: StepUpApp;
  before(async () => {
    // 3 s: room for the requests between the pauses below on a loaded machine (B reauthenticates
    // 1.5 s before its ceiling, and is used 1.2 s before the new one).
    t = await createStepUpApp({ reauthentication: { maxAge: '3s' } });
  });
  after(async () => {
    await t.close();
  });

  it('ends a session whose last authentication is older than maxAge; reauthenticating in time renews it', async () => {
    const a = await login(t, 'ceiling-a');
    const b = await login(t, 'ceiling-b');
    let tokenB = (await use(t, b.token)).token;
    await sleep(1500);
    const reauth = await post(t, tokenB, '/me/reauthenticate', {});
    tokenB = cookieToken(reauth)!;
    await sleep(1800);
    assert.equal((await use(t, a.token)).status, 401, '3.3 s after the login');
    assert.equal((await use(t, tokenB)).status, 200, '1.8 s after the reauthentication');
    const ended = t.events.filter((e) => e.type === 'session.revoked' && e.reason === 'reauthentication');
    assert.equal(ended.length, 1);
    assert.equal((await use(t, a.token)).status, 401, 'stays ended');
  });
});

/** revokeAll and onCredentialChange, with the store `store` gives. */
function adminScenarios(name: string, options: () => XemsModuleOptions) {
  describe(`admin revocation: ${name}`, () => {
    let t: StepUpApp;
    before(async () => {
      t = await createStepUpApp(options());
    });
    after(async () => {
      await t.close();
    });

    it('revokeAll({ sandbox }) ends every session of the sandbox at its next request; other sandboxes untouched', async () => {
      const users = await Promise.all(['ra1', 'ra2', 'ra3'].map((u) => login(t, u)));
      const anonymous = await t.xems.createSession('xems.session', { cart: 1 });
      const other = await t.xems.createSession('other.sandbox', { n: 1 }, { userId: 'ra1' });
      await t.xems.from('xems.session').set('kept', 'v');
      const count = await t.xems.revokeAll({ sandbox: 'xems.session' });
      assert.ok(count >= 4, `revoked ${count}`);
      for (const u of users) assert.equal((await use(t, u.token)).status, 401);
      assert.equal(await t.xems.resolveSession(anonymous), null);
      assert.notEqual(await t.xems.resolveSession(other, { sandbox: 'other.sandbox' }), null, 'another sandbox');
      assert.equal(await t.xems.from('xems.session').get('kept'), 'v', 'key-value records stay');
      const event = t.events.find((e) => e.type === 'sessions.revoked-all');
      assert.deepEqual(event, { type: 'sessions.revoked-all', sandbox: 'xems.session', count, reason: 'admin' });
      const again = await login(t, 'ra1');
      assert.equal((await use(t, again.token)).status, 200, 'a login after it works');
    });

    it('onCredentialChange keeps the caller (with a new identity) and ends the user’s other sessions only', async () => {
      const mine = await login(t, 'cc');
      const others = [await login(t, 'cc'), await login(t, 'cc')];
      const bob = await login(t, 'cc-bob');
      const res = await post(t, mine.token, '/me/credential-change');
      assert.equal(res.status, 200);
      assert.equal(res.body.revoked, 2);
      const renewed = cookieToken(res)!;
      assert.ok(renewed && renewed !== mine.token);
      assert.equal((await use(t, renewed)).status, 200, 'the caller stays logged in');
      assert.equal((await use(t, mine.token)).status, 401, 'under a new token');
      for (const o of others) assert.equal((await use(t, o.token)).status, 401, 'the other sessions end');
      assert.equal((await use(t, bob.token)).status, 200, 'another user is untouched');
      const ended = t.events.filter((e) => e.type === 'session.revoked' && e.reason === 'credential-change');
      assert.equal(ended.length, 2);
    });
  });
}

adminScenarios('memory store', () => ({}));

const SECRET = `base64:${randomBytes(32).toString('base64')}`;
const redisOptions = (store: XemsModuleOptions['store']): XemsModuleOptions => ({
  store,
  persistence: { secret: SECRET },
  hardwareBinding: { id: 'step-up-e2e' },
});

describe('with the Redis store', () => {
  let standalone: Awaited<ReturnType<typeof standaloneRedis>>;
  let cluster: Awaited<ReturnType<typeof clusterRedis>>;
  before(async () => {
    standalone = await standaloneRedis();
    cluster = await clusterRedis();
  });
  after(async () => {
    await standalone?.stop();
    await cluster?.stop();
  });
  const prefix = uniqueKeyPrefix('stepup');
  adminScenarios('one Redis server', () => redisOptions({ type: 'redis', url: standalone.url, keyPrefix: prefix }));
  adminScenarios('a 3-master Redis Cluster', () => redisOptions({ type: 'redis', cluster: cluster.urls, keyPrefix: prefix }));
});
