import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, cookieToken } from './support/xems-test-app';

/** A browser following rotations; `csrf` is what the page was given at login. */
async function browser(t: FeaturesApp, user: string) {
  const res = await request(t.server).post('/auth/login').send({ user });
  assert.equal(res.status, 200);
  const state = { token: cookieToken(res)!, csrf: res.body.csrf as string };
  const send = async (req: request.Test) => {
    const r = await req.set('Cookie', `xems_token=${state.token}`);
    state.token = cookieToken(r) ?? state.token;
    return r;
  };
  return { state, send };
}

for (const platform of PLATFORMS) {
  describe(`CsrfGuard (${platform})`, () => {
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({}, platform);
    });
    after(async () => {
      await t.close();
    });

    it('lets safe methods through and refuses unsafe ones without the token (403)', async () => {
      const b = await browser(t, 'quinn');
      assert.match(b.state.csrf, /^[A-Za-z0-9_-]{22}$/);
      assert.equal((await b.send(request(t.server).get('/account'))).status, 200);
      assert.equal((await b.send(request(t.server).post('/account/email').send({ email: 'x@y.z' }))).status, 403, 'missing');
      assert.equal((await b.send(request(t.server).post('/account/email').set('x-csrf-token', 'A'.repeat(22)))).status, 403, 'wrong');
      assert.equal(
        (await b.send(request(t.server).post('/account/email').set('x-csrf-token', b.state.csrf.slice(1)))).status,
        403,
        'wrong length',
      );
      assert.equal((await b.send(request(t.server).delete('/account'))).status, 403, 'DELETE is unsafe too');
    });

    it('accepts the token in the header or the _csrf body field, across token rotations', async () => {
      const b = await browser(t, 'rosa');
      const seen = new Set([b.state.token]);
      for (let i = 0; i < 4; i++) {
        const res = await b.send(
          request(t.server)
            .post('/account/email')
            .set('x-csrf-token', b.state.csrf)
            .send({ email: `r${i}@example.test` }),
        );
        assert.equal(res.status, 200, `rotation ${i}`);
        assert.ok(!seen.has(b.state.token), 'the session token rotated');
        seen.add(b.state.token);
      }
      const json = await b.send(request(t.server).post('/account/email').send({ email: 'j@example.test', _csrf: b.state.csrf }));
      assert.equal(json.status, 200, 'JSON body field');
      const form = await b.send(request(t.server).post('/account/email').type('form').send(`email=f%40example.test&_csrf=${b.state.csrf}`));
      assert.equal(form.status, 200, 'form field');
      assert.equal(form.body.email, 'f@example.test');
      const page = await b.send(request(t.server).get('/me/csrf'));
      assert.equal(page.body.csrf, b.state.csrf, 'csrfToken(req) is stable across rotations');
    });

    it("another session's token is refused; regenerate() issues a new token and the old one stops working", async () => {
      const a = await browser(t, 'sam');
      const other = await browser(t, 'tia');
      assert.equal((await a.send(request(t.server).post('/account/email').set('x-csrf-token', other.state.csrf))).status, 403);
      const regen = await a.send(request(t.server).post('/me/regenerate').send({ keepData: true }));
      assert.equal(regen.status, 200);
      assert.notEqual(regen.body.csrf, a.state.csrf);
      assert.equal(
        (await a.send(request(t.server).post('/account/email').set('x-csrf-token', a.state.csrf))).status,
        403,
        'the old CSRF token',
      );
      assert.equal(
        (await a.send(request(t.server).post('/account/email').set('x-csrf-token', regen.body.csrf))).status,
        200,
        'the new one',
      );
    });

    it('without a session SessionGuard answers 401 first', async () => {
      assert.equal((await request(t.server).post('/account/email').set('x-csrf-token', 'A'.repeat(22))).status, 401);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`CsrfGuard options (${platform})`, () => {
    it('custom header and field names', async () => {
      const t = await createFeaturesApp({ csrf: { header: 'X-Request-Token', field: 'token' } }, platform);
      try {
        const b = await browser(t, 'uma');
        assert.equal(
          (await b.send(request(t.server).post('/account/email').set('x-csrf-token', b.state.csrf))).status,
          403,
          'the default header is not read',
        );
        assert.equal((await b.send(request(t.server).post('/account/email').set('x-request-token', b.state.csrf))).status, 200);
        assert.equal((await b.send(request(t.server).post('/account/email').send({ token: b.state.csrf }))).status, 200);
      } finally {
        await t.close();
      }
    });

    it('origins: an unsafe request must also come from an allowed origin (Origin, else Referer)', async () => {
      const t = await createFeaturesApp({ csrf: { origins: ['https://app.example.test'] } }, platform);
      try {
        const b = await browser(t, 'vic');
        const post = () => request(t.server).post('/account/email').set('x-csrf-token', b.state.csrf);
        assert.equal((await b.send(post())).status, 403, 'no Origin, no Referer');
        assert.equal((await b.send(post().set('Origin', 'https://evil.example.test'))).status, 403, 'another origin');
        assert.equal((await b.send(post().set('Origin', 'null'))).status, 403, 'an opaque origin');
        assert.equal((await b.send(post().set('Origin', 'https://app.example.test'))).status, 200);
        assert.equal(
          (await b.send(post().set('Referer', 'https://app.example.test/settings?tab=1'))).status,
          200,
          'Referer when Origin is absent',
        );
        assert.equal((await b.send(post().set('Referer', 'https://app.example.test.evil.test/'))).status, 403);
        assert.equal(
          (await b.send(request(t.server).post('/account/email').set('Origin', 'https://app.example.test'))).status,
          403,
          'the right origin does not replace the token',
        );
        assert.equal((await b.send(request(t.server).get('/account'))).status, 200, 'safe methods need neither');
      } finally {
        await t.close();
      }
    });
  });
}
