import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { PLATFORMS } from './support/platforms';
import { type FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { cookieToken } from './support/xems-test-app';

// User audit B: an app served over plain HTTP on a host that is not loopback (a LAN address, a
// container's name) logs users in with the default Secure cookie, which the browser drops
// without a word (checked in Chromium): the login answers 200 and the next page is a 401.
// The module says so once, naming the host and the fixes; loopback hosts (where browsers keep
// Secure cookies), HTTPS behind a proxy, the header transport and secure: false stay silent.

for (const platform of PLATFORMS) {
  describe(`a Secure cookie sent over plain HTTP to a non-loopback host: one warning (real sidecar, ${platform})`, () => {
    // One app at a time: Nest's Logger writes to the logger of the app created last.
    let t: FeaturesApp;
    before(async () => {
      t = await createFeaturesApp({}, platform);
    });
    after(async () => {
      await t?.close();
    });

    const warnings = (app: FeaturesApp) => app.logs.lines.filter((l) => l.startsWith('WARN') && l.includes('is Secure (cookie.secure'));

    const login = async (app: FeaturesApp, headers: Record<string, string>) => {
      let req = request(app.server).post('/auth/login').send({ user: 'lan' });
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await req;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res;
    };

    it('stays silent where the browser keeps the cookie, warns once (with the host) where it drops it', async () => {
      for (const host of ['localhost:3000', 'app.localhost', '127.0.0.1:8080', '[::1]:3000']) {
        assert.ok(cookieToken(await login(t, { host })), `${host}: the cookie is sent`);
      }
      await login(t, { host: 'app.example.test', 'x-forwarded-proto': 'https' });
      await login(t, { host: 'app.example.test', forwarded: 'for=192.0.2.1;proto=https' });
      await login(t, { host: 'app.example.test', 'x-xems-token': '' }); // header transport: no cookie
      assert.deepEqual(warnings(t), [], 'no warning for loopback hosts, HTTPS behind a proxy, or the header transport');

      const res = await login(t, { host: '192.0.2.2:3000' });
      assert.match(String(res.headers['set-cookie']), /; Secure/, 'the Secure cookie is still sent (the browser decides)');
      await login(t, { host: 'app.example.test' });
      const lines = warnings(t);
      assert.equal(lines.length, 1, `one warning: ${JSON.stringify(lines)}`);
      assert.match(lines[0], /plain HTTP to host "192\.0\.2\.2"/);
      assert.match(lines[0], /cookie: \{ secure: false \}/);
      assert.match(lines[0], /X-Forwarded-Proto: https/);
      assert.doesNotMatch(lines[0], new RegExp(cookieToken(res)!), 'never the token');
    });

    it('an odd Host header reaches the log only as host-name characters', async () => {
      await t.close();
      t = await createFeaturesApp({}, platform);
      await login(t, { host: 'evil"<b>host' });
      const lines = warnings(t);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /to host "evil\?\?b\?host"/);
    });

    it('secure: false stays silent', async () => {
      await t.close();
      t = await createFeaturesApp({ cookie: { secure: false } }, platform);
      assert.ok(cookieToken(await login(t, { host: '192.0.2.2:3000' })));
      assert.deepEqual(warnings(t), []);
    });
  });
}
