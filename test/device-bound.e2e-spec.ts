import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Controller, Get, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { RequireDeviceBound, SessionGuard, XemsModule, type XemsModuleOptions, XemsService, type XemsEvent } from '../src';
import { PLATFORMS, type TestPlatform, createPlatformApp } from './support/platforms';
import { standaloneRedis, uniqueKeyPrefix } from './support/redis-servers';
import { cookieToken, setCookieLine } from './support/xems-test-app';
import { Device, challengeOf } from './support/dbsc-device';

// Device-bound sessions (DBSC) end to end over HTTP, against the real sidecar (memory and
// Redis), with a DBSC client written here: a P-256 key from node:crypto, proofs as compact JWS
// (typ dbsc+jwt, ES256 r||s), the header fields a browser sends.

const REGISTER = '/.well-known/xems/dbsc/register';
const REFRESH = '/.well-known/xems/dbsc/refresh';
const LIFETIME_MS = 2000;

@Controller()
class DeviceController {
  constructor(private readonly xems: XemsService) {}

  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ ok: true }> {
    await this.xems.link(req, res, { user: 'ann' }, { userId: 'ann' });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Req() req: Request): unknown {
    return this.xems.getSessionContext(req);
  }

  @Post('logout')
  @UseGuards(SessionGuard)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ ok: true }> {
    await this.xems.unlink(req, res);
    return { ok: true };
  }

  @Get('sensitive')
  @UseGuards(SessionGuard)
  @RequireDeviceBound()
  sensitive(): { secret: string } {
    return { secret: 'only for bound sessions' };
  }
}

interface DeviceApp {
  server: Server;
  xems: XemsService;
  events: XemsEvent[];
  close(): Promise<void>;
}

async function deviceApp(extra: XemsModuleOptions = {}, platform: TestPlatform = 'express'): Promise<DeviceApp> {
  @Module({
    imports: [XemsModule.forRoot({ deviceBound: { lifetime: LIFETIME_MS }, ...extra })],
    controllers: [DeviceController],
  })
  class DeviceAppModule {}
  const app = await createPlatformApp(DeviceAppModule, platform, { logger: false });
  const xems = app.get(XemsService);
  const events: XemsEvent[] = [];
  const sub = xems.events$.subscribe((e) => events.push(e));
  await app.listen(0, '127.0.0.1');
  return {
    server: app.getHttpServer() as Server,
    xems,
    events,
    close: async () => {
      await app.close();
      sub.unsubscribe();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function login(t: DeviceApp): Promise<{ token: string; challenge: string }> {
  const res = await request(t.server).post('/login').expect(201);
  const offer = res.headers['secure-session-registration'];
  assert.match(String(offer), new RegExp(`^\\(ES256 RS256\\);path="${REGISTER}";challenge="[A-Za-z0-9_-]{22}"$`));
  return { token: cookieToken(res)!, challenge: challengeOf(offer, 'challenge') };
}

const register = (t: DeviceApp, token: string, proof: string) =>
  request(t.server).post(REGISTER).set('Cookie', `xems_token=${token}`).set('Secure-Session-Response', `"${proof}"`);

const refresh = (t: DeviceApp, token: string, id: string, proof?: string) => {
  const r = request(t.server).post(REFRESH).set('Cookie', `xems_token=${token}`).set('Sec-Secure-Session-Id', `"${id}"`);
  return proof ? r.set('Secure-Session-Response', `"${proof}"`) : r;
};

/** GET /me with the token; the next token when it rotated. */
async function me(t: DeviceApp, token: string, status: number): Promise<{ token: string; body: Record<string, unknown> }> {
  const res = await request(t.server).get('/me').set('Cookie', `xems_token=${token}`);
  assert.equal(res.status, status, `GET /me answered ${res.status}`);
  return { token: cookieToken(res) ?? token, body: res.body as Record<string, unknown> };
}

function scenarios(name: string, extra: () => XemsModuleOptions, platform: TestPlatform): void {
  describe(`device-bound sessions (${name}, ${platform})`, () => {
    let t: DeviceApp;
    before(async () => {
      t = await deviceApp(extra(), platform);
    });
    after(async () => t.close());

    it('registers the device, refuses a copied cookie past the deadline, and only a proof of the key moves it', async () => {
      const device = new Device();
      const { token, challenge } = await login(t);

      const reg = await register(t, token, device.proof(challenge, true));
      assert.equal(reg.status, 200);
      assert.equal(reg.headers['cache-control'], 'no-store');
      assert.match(String(reg.headers['content-type']), /^application\/json/);
      const bound = setCookieLine(reg, 'xems_token_bound')!;
      assert.match(bound, /^xems_token_bound=\d+; Max-Age=1; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
      const body = reg.body as { session_identifier: string; refresh_url: string; scope: Record<string, unknown>; credentials: unknown[] };
      assert.equal(body.refresh_url, REFRESH);
      assert.deepEqual(body.scope, {
        include_site: false,
        scope_specification: [],
        origin: `http://127.0.0.1:${(t.server.address() as { port: number }).port}`,
      });
      assert.deepEqual(body.credentials, [
        { type: 'cookie', name: 'xems_token_bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Strict' },
      ]);
      const id = body.session_identifier;
      assert.ok(t.events.some((e) => e.type === 'session.device-registered' && e.sessionId === id));

      // Rotation keeps working, and the session says it is bound.
      let cur = (await me(t, token, 200)).token;
      const seen = await me(t, cur, 200);
      assert.equal(seen.body.deviceBound, true);
      cur = seen.token;
      assert.equal((await request(t.server).get('/sensitive').set('Cookie', `xems_token=${cur}`)).status, 200);
      const [listed] = await t.xems.listSessions('ann');
      assert.equal(listed.deviceBound, true);

      // A second registration cannot replace the key.
      const again = await register(t, cur, new Device().proof(challenge, true));
      assert.equal(again.status, 400);
      assert.deepEqual(again.body, { continue: false });

      // Past the deadline: the same (copied) cookie is refused, and rotation did not move it.
      await sleep(LIFETIME_MS + 200);
      await me(t, cur, 401);
      assert.equal((await t.xems.listSessions('ann')).length, 1, 'the session is kept for its device');

      // The browser refreshes: 403 with a challenge, then a proof signed by the device key.
      const ask = await refresh(t, cur, id);
      assert.equal(ask.status, 403);
      const c1 = challengeOf(ask.headers['secure-session-challenge'], 'first');
      assert.match(String(ask.headers['secure-session-challenge']), new RegExp(`;id="${id}"$`));

      // A thief's key, a registration-style proof (jwk at refresh): refused, new challenge.
      const thief = await refresh(t, cur, id, new Device().proof(c1, false));
      assert.equal(thief.status, 403);
      assert.ok(t.events.some((e) => e.type === 'session.device-refused' && e.reason === 'DEVICE_PROOF_REFUSED'));
      const c2 = challengeOf(thief.headers['secure-session-challenge'], 'first');
      const withKey = await refresh(t, cur, id, device.proof(c2, true));
      assert.equal(withKey.status, 403);
      challengeOf(withKey.headers['secure-session-challenge'], 'first');
      await me(t, cur, 401);

      // c2 is the older of the two outstanding challenges (a race): it still works, once.
      const proof = device.proof(c2, false);
      const ok = await refresh(t, cur, id, proof);
      assert.equal(ok.status, 200);
      assert.equal((ok.body as { session_identifier: string }).session_identifier, id);
      assert.ok(setCookieLine(ok, 'xems_token_bound'));
      assert.ok(t.events.some((e) => e.type === 'session.device-refreshed' && e.sessionId === id));
      cur = (await me(t, cur, 200)).token;

      // The same proof again: its challenge was used.
      assert.equal((await refresh(t, cur, id, proof)).status, 403);

      // Revoked: the browser is told to stop.
      await t.xems.revokeSessionById(id);
      const over = await refresh(t, cur, id);
      assert.equal(over.status, 200);
      assert.deepEqual(over.body, { continue: false });
    });

    it('logout clears the bound cookie with the token cookie', async () => {
      const device = new Device();
      const { token, challenge } = await login(t);
      const reg = await register(t, token, device.proof(challenge, true));
      assert.equal(reg.status, 200);
      const cur = (await me(t, token, 200)).token;
      const out = await request(t.server)
        .post('/logout')
        .set('Cookie', `xems_token=${cur}; xems_token_bound=${String(setCookieLine(reg, 'xems_token_bound')).split(/[=;]/)[1]}`);
      assert.equal(out.status, 201);
      assert.match(String(setCookieLine(out, 'xems_token')), /^xems_token=; Max-Age=0; Path=\/;/);
      assert.match(
        String(setCookieLine(out, 'xems_token_bound')),
        /^xems_token_bound=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/,
      );
      await me(t, cur, 401);
      // The browser's next refresh of its bound session is told to stop.
      const id = (reg.body as { session_identifier: string }).session_identifier;
      const over = await refresh(t, cur, id);
      assert.equal(over.status, 200);
      assert.deepEqual(over.body, { continue: false });
    });

    it('a session that never registers keeps working past any deadline, but not on @RequireDeviceBound() routes', async () => {
      const { token } = await login(t);
      await sleep(LIFETIME_MS + 200);
      const { token: cur, body } = await me(t, token, 200);
      assert.equal(body.deviceBound, false);
      const res = await request(t.server).get('/sensitive').set('Cookie', `xems_token=${cur}`);
      assert.equal(res.status, 403);
      assert.match(JSON.stringify(res.body), /device-bound session/);
      const stop = await refresh(t, cur, 'whatever');
      assert.deepEqual([stop.status, stop.body], [200, { continue: false }], 'a refresh of an unbound session ends the browser session');
    });

    it('an RS256 device registers and refreshes too; a proof under the other algorithm is refused', async () => {
      const device = new Device('RS256');
      const { token, challenge } = await login(t);
      const reg = await register(t, token, device.proof(challenge, true));
      assert.equal(reg.status, 200);
      const id = (reg.body as { session_identifier: string }).session_identifier;
      const ask = await refresh(t, token, id);
      const c = challengeOf(ask.headers['secure-session-challenge'], 'first');
      const es = await refresh(t, token, id, new Device('ES256').proof(c, false));
      assert.equal(es.status, 403, 'an ES256 proof for an RSA-bound session');
      const ok = await refresh(t, token, id, device.proof(challengeOf(es.headers['secure-session-challenge'], 'first'), false));
      assert.equal(ok.status, 200);
    });

    it('refuses malformed and cross-site requests without effect', async () => {
      const device = new Device();
      const { token, challenge } = await login(t);
      assert.equal((await request(t.server).get(REGISTER).set('Cookie', `xems_token=${token}`)).status, 405);
      const cross = await register(t, token, device.proof(challenge, true)).set('Sec-Fetch-Site', 'cross-site');
      assert.equal(cross.status, 403);
      for (const bad of [
        '',
        'a.b',
        `${device.proof(challenge, true)}=`,
        'x'.repeat(5000),
        `${device.proof(challenge, true).replace('.', '+')}`,
      ]) {
        const res = await request(t.server).post(REGISTER).set('Cookie', `xems_token=${token}`).set('Secure-Session-Response', `"${bad}"`);
        assert.equal(res.status, 400, `proof ${bad.slice(0, 20)}`);
      }
      const noCookie = await request(t.server)
        .post(REGISTER)
        .set('Secure-Session-Response', `"${device.proof(challenge, true)}"`);
      assert.equal(noCookie.status, 400);
      // None of that used the challenge: the real registration still works.
      assert.equal((await register(t, token, device.proof(challenge, true))).status, 200);
    });
  });
}

for (const platform of PLATFORMS) scenarios('memory store', () => ({}), platform);

describe('redis', () => {
  let redis: Awaited<ReturnType<typeof standaloneRedis>>;
  before(async () => {
    redis = await standaloneRedis();
  });
  after(async () => redis.stop());
  for (const platform of PLATFORMS) {
    scenarios(
      'Redis store',
      () => ({
        store: { type: 'redis', url: redis.url, keyPrefix: uniqueKeyPrefix(`dbsc-${platform}-`) },
        persistence: { secret: `base64:${randomBytes(32).toString('base64')}` },
        hardwareBinding: { id: 'dbsc-e2e' },
      }),
      platform,
    );
  }
});
