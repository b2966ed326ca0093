import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { XemsValidationError } from '../src';
import { FeaturesApp, UserSessionDto, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, cookieToken } from './support/xems-test-app';

const valid = { user: 'wes', email: 'wes@example.test', role: 'user', n: 1 };

for (const platform of PLATFORMS) {
  describe(`typed session data (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({}, platform);
    });
    after(async () => {
      await t.close();
    });

    const login = (body: object) => request(t.server).post('/auth/login').send(body);

    it('@Session({ schema }) injects a validated instance of the schema', async () => {
      const res = await login({ user: 'wes', typed: true, data: valid });
      assert.equal(res.status, 200);
      const typed = await request(t.server)
        .get('/me/typed')
        .set('Cookie', `xems_token=${cookieToken(res)}`);
      assert.equal(typed.status, 200);
      assert.deepEqual(typed.body, { isInstance: true, greeting: 'hello wes', email: 'wes@example.test' });
    });

    it('invalid data is an error on write (XemsValidationError naming the properties, not the values)', async () => {
      const res = await login({ user: 'wes', typed: true, data: { ...valid, email: 'SECRET-not-an-email', role: 'root' } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'INVALID_DATA');
      assert.match(res.body.message, /email/);
      assert.match(res.body.message, /role/);
      assert.doesNotMatch(res.body.message, /SECRET-not-an-email|root/);
      const ok = await login({ user: 'wes', typed: true, data: valid });
      const cookie = `xems_token=${cookieToken(ok)}`;
      const update = await request(t.server)
        .post('/me/update')
        .set('Cookie', cookie)
        .send({ typed: true, data: { ...valid, n: -1 } });
      assert.equal(update.body.error, 'INVALID_DATA');
      assert.match(update.body.message, /\bn\b/);
    });

    it('invalid data on read is a 401 and a log line (session id and properties, never the data)', async () => {
      const res = await login({ user: 'xia', data: { user: 'xia', email: 'PLANTED-MARKER-not-an-email', role: 'user', n: 0 } });
      assert.equal(res.status, 200, 'written without a schema');
      const sessionId = res.body.context.id as string;
      const typed = await request(t.server)
        .get('/me/typed')
        .set('Cookie', `xems_token=${cookieToken(res)}`);
      assert.equal(typed.status, 401);
      const line = t.logs.lines.find((l) => l.includes('does not match UserSessionDto') && l.includes(sessionId));
      assert.ok(line, `a log line names the session: ${t.logs.lines.slice(-5).join(' | ')}`);
      assert.match(line, /email/);
      assert.doesNotMatch(line, /PLANTED-MARKER/);
    });

    it('from(sandbox, { schema }) validates on set and on get', async () => {
      const typed = t.xems.from('profiles', { schema: UserSessionDto });
      await assert.rejects(
        typed.set('p1', { ...valid, email: 'nope' }),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_DATA',
      );
      await assert.rejects(typed.set('p1', 'a string'), (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_DATA');
      await typed.set('p1', valid);
      const back = await typed.get<UserSessionDto>('p1');
      assert.ok(back instanceof UserSessionDto);
      assert.equal(back.greeting(), 'hello wes');
      // A value written without the schema and read with it: null and a log line.
      await t.xems.from('profiles').set('p2', { user: 'x', email: 'MARKER-bad', role: 'user', n: 0 });
      assert.equal(await typed.get('p2'), null);
      const line = t.logs.lines.find((l) => l.includes('sandbox profiles') && l.includes('UserSessionDto'));
      assert.ok(line && !line.includes('MARKER-bad'), String(line));
      // Session tokens of the sandbox read through the schema too.
      const token = await t.xems.createSession('profiles', valid);
      assert.ok((await typed.get(token)) instanceof UserSessionDto);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`__proto__ and constructor keys in data (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({}, platform);
    });
    after(async () => {
      await t.close();
    });

    const hostile =
      '{"user":"yan","email":"yan@example.test","n":0,"__proto__":{"role":"admin","polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';

    it('round-trip as plain data and never reach a prototype', async () => {
      const data = JSON.parse(hostile) as Record<string, unknown>;
      assert.ok(Object.prototype.hasOwnProperty.call(data, '__proto__'), 'JSON.parse makes it an own property');
      const token = await t.xems.createSession('xems.session', data);
      const back = (await t.xems.resolveSession<Record<string, unknown>>(token))!.data;
      assert.equal(JSON.stringify(back), hostile, 'the same JSON comes back');
      assert.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'));
      assert.equal(Object.getPrototypeOf(back), Object.prototype, 'its prototype is untouched');
      assert.equal(back.role, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
      // The same through HTTP: link() from a JSON body, @Session() and updateSession() spreading it.
      const login = await request(t.server)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"user":"yan","data":${hostile}}`);
      if (platform === 'fastify') {
        // Fastify's JSON parser refuses a __proto__ key itself (onProtoPoisoning: 'error').
        assert.equal(login.status, 400);
        return;
      }
      assert.equal(login.status, 200);
      const cookie = `xems_token=${cookieToken(login)}`;
      const me = await request(t.server).get('/me').set('Cookie', cookie);
      assert.equal(me.status, 200);
      assert.match(me.text, /"__proto__":\{"role":"admin","polluted":"yes"\}/);
      assert.equal(me.body.session.role, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('a schema never takes a property from a __proto__ key: validation still fails for the missing field', async () => {
      const login = await request(t.server)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"user":"yan","data":${hostile}}`);
      const typed = await request(t.server)
        .get('/me/typed')
        .set('Cookie', `xems_token=${cookieToken(login)}`);
      assert.equal(typed.status, 401, 'role is missing: the __proto__ key did not provide it');
      await assert.rejects(t.xems.from('profiles2', { schema: UserSessionDto }).set('k', JSON.parse(hostile)), XemsValidationError);
      const withRole = JSON.parse(hostile.replace('"n":0', '"n":0,"role":"user"')) as object;
      await t.xems.from('profiles2', { schema: UserSessionDto }).set('k', withRole);
      const back = (await t.xems.from('profiles2', { schema: UserSessionDto }).get<UserSessionDto>('k'))!;
      assert.ok(back instanceof UserSessionDto);
      assert.equal(Object.getPrototypeOf(back), UserSessionDto.prototype);
      assert.equal(back.role, 'user');
      assert.equal((back as unknown as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
}
