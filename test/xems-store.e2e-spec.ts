import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { Controller, Get, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Request } from 'express';
import { XemsModule, XemsService, XemsStore, XemsValidationError, createStandaloneXems } from '../src';
import { sleep } from './support/xems-test-app';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    views?: number;
  }
}

const SID_COOKIE = 'connect.sid';

/** The express-session cookie of a response (the whole "name=value" pair), or undefined. */
function sidCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const raw = res.headers['set-cookie'];
  const lines = Array.isArray(raw) ? (raw as string[]) : raw ? [String(raw)] : [];
  return lines.find((l) => l.startsWith(`${SID_COOKIE}=`))?.split(';')[0];
}

function expiresOf(res: { headers: Record<string, unknown> }): number {
  const raw = res.headers['set-cookie'] as string[];
  const line = raw.find((l) => l.startsWith(`${SID_COOKIE}=`))!;
  return Date.parse(/Expires=([^;]+)/i.exec(line)![1]);
}

/** The session id inside a signed express-session cookie ("s:<id>.<signature>"). */
function sidOf(cookie: string): string {
  return decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0];
}

function call<T>(fn: (cb: (err: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

function buildApp(store: XemsStore, maxAge: number | undefined, rolling = true) {
  const app = express();
  app.use(express.json());
  app.use(
    session({
      secret: 'test secret for the cookie signature',
      resave: false,
      saveUninitialized: false,
      rolling,
      store,
      cookie: { maxAge, httpOnly: true, sameSite: 'strict' },
    }),
  );
  app.post('/login', (req, res) => {
    req.session.regenerate((err) => {
      if (err) return res.status(500).end();
      req.session.user = (req.body as { user?: string }).user ?? 'ann';
      req.session.views = 0;
      res.json({ ok: true });
    });
  });
  app.get('/me', (req, res) => {
    if (!req.session.user) return res.status(401).json({ user: null });
    res.json({ user: req.session.user, views: req.session.views });
  });
  app.post('/view', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    res.json({ views: req.session.views });
  });
  app.post('/logout', (req, res) => {
    req.session.destroy((err) => res.status(err ? 500 : 200).json({ ok: !err }));
  });
  return app;
}

describe('XemsStore: express-session over the sidecar', () => {
  let xems: XemsService;
  let store: XemsStore;
  let app: express.Express;

  before(async () => {
    xems = await createStandaloneXems({ sidecar: { requestTimeout: '5s' } });
    store = new XemsStore({ xems, sandbox: 'express-session-test' });
    app = buildApp(store, 60_000);
  });
  after(async () => {
    await xems.onApplicationShutdown();
  });

  it('login, read, update, rolling touch, destroy', async () => {
    const login = await request(app).post('/login').send({ user: 'alice' });
    assert.equal(login.status, 200);
    const cookie = sidCookie(login)!;
    assert.ok(cookie, 'login sets the session cookie');
    const sid = sidOf(cookie);

    const me = await request(app).get('/me').set('Cookie', cookie);
    assert.deepEqual(me.body, { user: 'alice', views: 0 });

    const view = await request(app).post('/view').set('Cookie', cookie);
    assert.deepEqual(view.body, { views: 1 });
    assert.deepEqual((await request(app).get('/me').set('Cookie', cookie)).body, { user: 'alice', views: 1 });

    // Rolling: each response re-sends the cookie with a later expiry, and the store's
    // lifetime follows (touch on unmodified sessions).
    const ttlBefore = (await xems.api.kvTtl('express-session-test', Buffer.from(sid)))!;
    // Cookie expiry dates have a resolution of one second; the 600 ms beyond it are the room the
    // touch request and the TTL read below have on a loaded machine (ttlAfter - ttlAged is this
    // pause less their time, and must exceed 1 s).
    await sleep(1600);
    const ttlAged = (await xems.api.kvTtl('express-session-test', Buffer.from(sid)))!;
    assert.ok(ttlAged < ttlBefore - 1000, `the lifetime runs down (${ttlBefore} -> ${ttlAged})`);
    const touched = await request(app).get('/me').set('Cookie', cookie);
    assert.ok(expiresOf(touched) > expiresOf(me), 'the cookie expiry rolls forward');
    const ttlAfter = (await xems.api.kvTtl('express-session-test', Buffer.from(sid)))!;
    assert.ok(ttlAfter > ttlAged + 1000 && ttlAfter <= 60_000, `touch restarted the lifetime (${ttlAged} -> ${ttlAfter})`);

    // The value in the sidecar is the session's JSON, under a keyed hash of the session id.
    const stored = await call<unknown>((cb) => store.get(sid, cb));
    assert.equal((stored as { user: string }).user, 'alice');

    const logout = await request(app).post('/logout').set('Cookie', cookie);
    assert.equal(logout.status, 200);
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 401);
    assert.equal(await call((cb) => store.get(sid, cb)), null);
  });

  it('regenerate on login destroys the previous session', async () => {
    const first = sidCookie(await request(app).post('/login').send({ user: 'bob' }))!;
    const second = sidCookie(await request(app).post('/login').set('Cookie', first).send({ user: 'bob' }))!;
    assert.notEqual(sidOf(first), sidOf(second));
    assert.equal((await request(app).get('/me').set('Cookie', first)).status, 401);
    assert.equal((await request(app).get('/me').set('Cookie', second)).status, 200);
  });

  it('a session ends when its cookie expires (maxAge drives the TTL)', async () => {
    const shortStore = new XemsStore({ xems, sandbox: 'express-session-short' });
    const shortApp = buildApp(shortStore, 1000, false);
    const cookie = sidCookie(await request(shortApp).post('/login').send({ user: 'carol' }))!;
    const ttl = (await xems.api.kvTtl('express-session-short', Buffer.from(sidOf(cookie))))!;
    assert.ok(ttl > 0 && ttl <= 1000, `TTL ${ttl} follows cookie.maxAge`);
    assert.equal((await request(shortApp).get('/me').set('Cookie', cookie)).status, 200);
    await sleep(1300);
    // The browser would have dropped the cookie; a client that keeps it finds no session.
    assert.equal((await request(shortApp).get('/me').set('Cookie', cookie)).status, 401);
    assert.equal(await call((cb) => shortStore.get(sidOf(cookie), cb)), null);
  });

  it('TTLs: a browser-session cookie gets the default, a long maxAge is capped at 5 days', async () => {
    const s = new XemsStore({ xems, sandbox: 'express-session-ttl', ttl: '2h' });
    await call((cb) => s.set('no-expiry', { cookie: { expires: null, originalMaxAge: null } }, cb));
    await call((cb) => s.set('thirty-days', { cookie: { expires: new Date(Date.now() + 30 * 86_400_000).toISOString() } }, cb));
    await call((cb) => s.set('past', { cookie: { expires: new Date(Date.now() - 1000) } }, cb));
    const ttl = (id: string) => xems.api.kvTtl('express-session-ttl', Buffer.from(id));
    const noExpiry = (await ttl('no-expiry'))!;
    assert.ok(noExpiry > 7_100_000 && noExpiry <= 7_200_000, String(noExpiry));
    const capped = (await ttl('thirty-days'))!;
    assert.ok(capped > 431_000_000 && capped <= 432_000_000, String(capped));
    assert.equal(await ttl('past'), null, 'an already expired session is not stored');
  });

  it('all, length, ids and clear', async () => {
    const s = new XemsStore({ xems, sandbox: 'express-session-all' });
    const listApp = buildApp(s, 60_000);
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const sids: string[] = [];
    for (const user of users) sids.push(sidOf(sidCookie(await request(listApp).post('/login').send({ user }))!));
    assert.equal(await call<number>((cb) => s.length(cb)), 5);
    assert.deepEqual([...(await call<string[]>((cb) => s.ids(cb)))!].sort(), [...sids].sort());
    const all = (await call<unknown>((cb) => s.all(cb))) as Array<{ id: string; user: string }>;
    assert.deepEqual(all.map((x) => x.user).sort(), users);
    for (const x of all) assert.equal(x.id, sids[users.indexOf(x.user)], 'each session carries its id');
    // Other sandboxes are not listed.
    assert.ok(!(await call<string[]>((cb) => s.ids(cb)))!.some((id) => !sids.includes(id)));
    await call((cb) => s.clear(cb));
    assert.equal(await call<number>((cb) => s.length(cb)), 0);
    assert.deepEqual(await call((cb) => s.all(cb)), []);
    // Many sessions page through KV_SCAN.
    await Promise.all(
      Array.from({ length: 1200 }, (_, i) => {
        const bulk = { cookie: { expires: null }, i };
        return call((cb) => s.set(`bulk-${i}`, bulk, cb));
      }),
    );
    assert.equal(await call<number>((cb) => s.length(cb)), 1200);
    await call((cb) => s.clear(cb));
  });

  it('errors reach the callback as typed errors, never throws', async () => {
    await assert.rejects(
      call((cb) => store.get('', cb)),
      XemsValidationError,
    );
    await assert.rejects(
      call((cb) => store.set('x'.repeat(2000), { cookie: {} }, cb)),
      XemsValidationError,
    );
    const cyclic: { cookie: object; self?: unknown } = { cookie: {} };
    cyclic.self = cyclic;
    await assert.rejects(
      call((cb) => store.set('cyclic', cyclic, cb)),
      XemsValidationError,
    );
    assert.throws(() => new XemsStore({ xems: {} as XemsService }), /XemsService/);
    assert.throws(() => new XemsStore({ xems, sandbox: 'bad name' }), /sandbox/);
  });
});

describe('XemsStore inside a Nest app', () => {
  @Controller()
  class CountController {
    @Get('count')
    count(@Req() req: Request) {
      req.session.views = (req.session.views ?? 0) + 1;
      return { views: req.session.views };
    }
  }
  @Module({ imports: [XemsModule.forRoot({})], controllers: [CountController] })
  class AppModule {}

  let server: Server;
  let close: () => Promise<void>;
  before(async () => {
    const app = await NestFactory.create(AppModule, { logger: ['error'] });
    app.use(
      session({
        secret: 'nest test secret',
        resave: false,
        saveUninitialized: false,
        store: new XemsStore({ xems: app.get(XemsService) }),
      }),
    );
    await app.listen(0, '127.0.0.1');
    server = app.getHttpServer() as Server;
    close = () => app.close();
  });
  after(async () => {
    await close();
  });

  it("keeps express-session sessions in the module's sidecar", async () => {
    const first = await request(server).get('/count');
    assert.deepEqual(first.body, { views: 1 });
    const cookie = sidCookie(first)!;
    assert.deepEqual((await request(server).get('/count').set('Cookie', cookie)).body, { views: 2 });
    assert.deepEqual((await request(server).get('/count').set('Cookie', cookie)).body, { views: 3 });
  });
});
