import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { XemsEvent } from '../src';
import { FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, type TestPlatform, cookieToken } from './support/xems-test-app';

/** A client at an address (X-Forwarded-For, the app trusts the proxy) with a user agent. */
function from(t: FeaturesApp, ip: string, userAgent: string) {
  return {
    login: (user: string) => request(t.server).post('/auth/login').set('X-Forwarded-For', ip).set('User-Agent', userAgent).send({ user }),
    me: (token: string) =>
      request(t.server).get('/me').set('X-Forwarded-For', ip).set('User-Agent', userAgent).set('Cookie', `xems_token=${token}`),
  };
}

async function withApp(
  options: Parameters<typeof createFeaturesApp>[0],
  fn: (t: FeaturesApp) => Promise<void>,
  platform: TestPlatform,
): Promise<void> {
  const t = await createFeaturesApp(options, platform);
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

const mismatches = (t: FeaturesApp) =>
  t.events.filter((e): e is Extract<XemsEvent, { type: 'binding.mismatch' }> => e.type === 'binding.mismatch');

for (const platform of PLATFORMS) {
  describe(`binding (${platform})`, () => {
    it("ip 'subnet' + 'revoke': the same /24 passes, another subnet ends the session for everyone", async () => {
      await withApp(
        { binding: { ip: 'subnet', onMismatch: 'revoke' } },
        async (t) => {
          const home = from(t, '198.51.100.20', 'UA');
          const token = cookieToken(await home.login('kim'))!;
          const sameNet = await from(t, '198.51.100.201', 'UA').me(token);
          assert.equal(sameNet.status, 200, 'another address in the same /24');
          const next = cookieToken(sameNet)!;
          assert.equal((await from(t, '198.51.101.20', 'UA').me(next)).status, 401, 'another /24');
          assert.equal((await home.me(next)).status, 401, 'the session was revoked: the owner is out too');
          const [ev] = mismatches(t);
          assert.deepEqual(
            { ...ev, sessionId: typeof ev.sessionId },
            { type: 'binding.mismatch', sandbox: 'xems.session', sessionId: 'string', ip: true, userAgent: false, action: 'revoke' },
          );
          assert.ok(t.events.some((e) => e.type === 'session.revoked' && e.reason === 'binding' && e.sessionId === ev.sessionId));
          assert.ok(t.logs.lines.some((l) => l.startsWith('WARN') && l.includes('Binding mismatch') && l.includes(ev.sessionId)));
          assert.equal((await t.xems.stats()).bindingMismatches, 1);
        },
        platform,
      );
    });

    it("ip 'subnet' with IPv6: the same /64 passes, another /64 does not", async () => {
      await withApp(
        { binding: { ip: 'subnet', onMismatch: 'reject' } },
        async (t) => {
          const token = cookieToken(await from(t, '2001:db8:aa:bb::1', 'UA').login('lee'))!;
          const ok = await from(t, '2001:db8:aa:bb:ffff::9', 'UA').me(token);
          assert.equal(ok.status, 200);
          assert.equal((await from(t, '2001:db8:aa:bc::1', 'UA').me(cookieToken(ok)!)).status, 401);
        },
        platform,
      );
    });

    it("ip 'exact' + 'reject': another address is refused, the session stays usable from its own", async () => {
      await withApp(
        { binding: { ip: 'exact', onMismatch: 'reject' } },
        async (t) => {
          const home = from(t, '203.0.113.5', 'UA');
          const token = cookieToken(await home.login('max'))!;
          const refused = await from(t, '203.0.113.6', 'UA').me(token);
          assert.equal(refused.status, 401);
          assert.equal(cookieToken(refused), undefined, 'a refused request rotates nothing and sends no token');
          const ok = await home.me(token);
          assert.equal(ok.status, 200, 'reject keeps the session for its own client');
          assert.deepEqual(
            mismatches(t).map((e) => [e.ip, e.userAgent, e.action]),
            [[true, false, 'reject']],
          );
          assert.ok(!t.events.some((e) => e.type === 'session.revoked'));
        },
        platform,
      );
    });

    it("userAgent + 'log': served, reported and logged", async () => {
      await withApp(
        { binding: { userAgent: true, onMismatch: 'log' } },
        async (t) => {
          const token = cookieToken(await from(t, '192.0.2.1', 'Browser/1').login('ned'))!;
          const other = await from(t, '192.0.2.99', 'Browser/2').me(token);
          assert.equal(other.status, 200, 'log serves the request');
          assert.equal(other.body.session.user, 'ned');
          const [ev] = mismatches(t);
          assert.deepEqual([ev.ip, ev.userAgent, ev.action], [false, true, 'log'], 'only the user agent is bound');
          assert.ok(
            t.logs.lines.some(
              (l) => l.startsWith('WARN') && l.includes('Binding mismatch') && l.includes('user agent') && l.includes('request served'),
            ),
          );
          assert.ok(!t.logs.lines.some((l) => l.includes('Browser/2') || l.includes('192.0.2.99')), 'the log names no address or agent');
        },
        platform,
      );
    });

    it('ip and user agent together report both parts', async () => {
      await withApp(
        { binding: { ip: 'exact', userAgent: true } },
        async (t) => {
          const token = cookieToken(await from(t, '192.0.2.10', 'A').login('ola'))!;
          assert.equal((await from(t, '192.0.2.11', 'B').me(token)).status, 401);
          assert.deepEqual(
            mismatches(t).map((e) => [e.ip, e.userAgent, e.action]),
            [[true, true, 'revoke']],
          );
        },
        platform,
      );
    });

    it('binding off (the default): no check at all', async () => {
      await withApp(
        {},
        async (t) => {
          const token = cookieToken(await from(t, '192.0.2.10', 'A').login('pam'))!;
          assert.equal((await from(t, '10.99.99.99', 'Z').me(token)).status, 200);
          assert.equal(mismatches(t).length, 0);
        },
        platform,
      );
    });
  });
}
