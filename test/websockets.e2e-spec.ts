import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { SidecarApi } from '../src/sidecar/sidecar-api';
import { cookieToken, sleep } from './support/xems-test-app';
import WebSocket from 'ws';
import { TestSocket, WS_PATH, WS_PLATFORMS, type WsTestApp, closesWithin, createWsApp } from './support/ws-app';
import { waitStopped } from './support/stalls';

async function login(t: WsTestApp, body: Record<string, unknown> = {}): Promise<string> {
  const res = await request(t.server).post('/login').send(body);
  assert.equal(res.status, 200);
  return cookieToken(res)!;
}

/** A guarded HTTP request with the cookie; the next token (rotated, or the same). */
async function me(t: WsTestApp, token: string): Promise<{ status: number; token: string }> {
  const res = await request(t.server).get('/me').set('Cookie', `xems_token=${token}`);
  return { status: res.status, token: cookieToken(res) ?? token };
}

for (const platform of WS_PLATFORMS) {
  describe(`WebSockets on ${platform}`, () => {
    let t: WsTestApp;
    const sockets: TestSocket[] = [];
    const connect = (creds: ConstructorParameters<typeof TestSocket>[2]) => {
      const s = new TestSocket(platform, t.port, creds);
      sockets.push(s);
      return s;
    };
    before(async () => {
      t = await createWsApp(platform, { gracePeriod: '300ms' });
    });
    after(async () => {
      for (const s of sockets) s.close();
      await t.close();
    });

    const carriers = platform === 'socket.io' ? (['cookie', 'header', 'authToken'] as const) : (['cookie', 'header'] as const);
    for (const via of carriers) {
      it(`authenticates the handshake by its ${via}; messages see the session by id`, async () => {
        const token = await login(t, { user: `by-${via}` });
        const s = connect({ [via]: token });
        await s.opened();
        const answer = await s.ask('whoami', { hello: 1 });
        assert.equal(answer.event, 'whoami', JSON.stringify(answer));
        const data = answer.data as { user: string; id: string; rotated: boolean; echo: unknown };
        assert.equal(data.user, `by-${via}`);
        assert.equal(data.rotated, false);
        assert.deepEqual(data.echo, { hello: 1 });
        const session = await t.xems.resolveSession(token);
        assert.equal(session?.id, data.id);
        assert.equal(session?.token, token, 'the handshake did not rotate the HTTP token');
      });
    }

    it('refuses a socket without a session at the handshake, and one with an unknown token', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'missing'],
        [{ cookie: 'x'.repeat(70) }, 'invalid'],
        [{ header: 'not a token' }, 'malformed'],
      ];
      if (platform === 'socket.io') cases.push([{ authToken: 'short' }, 'malformed']);
      for (const [creds, reason] of cases) {
        const s = connect(creds);
        const refused = await s.waitFor((e) => e.event === 'xems:unauthorized');
        assert.deepEqual(refused.data, { reason }, JSON.stringify(creds));
        const closed = await s.closed;
        if (platform === 'ws') assert.equal(closed.code, 4401);
        assert.equal(s.events.filter((e) => e.event === 'whoami').length, 0);
      }
    });

    it('keeps answering while HTTP requests of the same session rotate the cookie 20 times; a stale token at a handshake is refused without revoking anything', async () => {
      const first = await login(t, { user: 'rotating' });
      const s = connect({ cookie: first });
      await s.opened();
      let token = first;
      const seen = new Set<string>([first]);
      for (let i = 0; i < 20; i++) {
        const r = await me(t, token);
        assert.equal(r.status, 200);
        token = r.token;
        seen.add(token);
        const answer = await s.ask('whoami', { i });
        assert.equal(answer.event, 'whoami', `message ${i}: ${JSON.stringify(answer)}`);
        assert.equal((answer.data as { user: string }).user, 'rotating');
      }
      assert.equal(seen.size, 21, 'every HTTP request rotated the cookie');
      await sleep(400); // past the 300 ms grace: the first token would now be reuse over HTTP
      const stale = connect({ cookie: first });
      const refused = await stale.waitFor((e) => e.event === 'xems:unauthorized');
      assert.equal((refused.data as { reason: string }).reason, 'invalid');
      assert.equal((await me(t, token)).status, 200, 'a stale token at a handshake did not revoke the session');
      assert.equal((await s.ask('whoami')).event, 'whoami', 'the first socket still works');
      assert.equal(await closesWithin(s, 50), false);
    });

    it('logout over HTTP tells the socket and disconnects it within 1 s', async () => {
      const token = await login(t, { user: 'leaving' });
      const s = connect({ cookie: token });
      await s.opened();
      assert.equal((await s.ask('whoami')).event, 'whoami');
      const res = await request(t.server).post('/logout').set('Cookie', `xems_token=${token}`);
      assert.equal(res.status, 200);
      const loggedOut = performance.now();
      assert.ok(await closesWithin(s, 5000), 'the socket was closed');
      const { at, code } = await s.closed;
      assert.ok(at - loggedOut < 1000, `closed ${Math.round(at - loggedOut)} ms after the logout response`);
      const ended = s.events.find((e) => e.event === 'xems:session-ended');
      assert.deepEqual(ended?.data, { reason: 'revoked' });
      if (platform === 'ws') assert.equal(code, 4403);
    });

    it('revoke, regenerate and expiry end the sockets with their reason', async () => {
      const revoked = await login(t, { user: 'revoked' });
      const a = connect({ cookie: revoked });
      await a.opened();
      await a.ask('whoami');
      assert.equal(await t.xems.revokeSession(revoked), true);
      assert.deepEqual((await a.waitFor((e) => e.event === 'xems:session-ended')).data, { reason: 'revoked' });
      await a.closed;

      const regen = await login(t, { user: 'regen' });
      const b = connect({ cookie: regen });
      await b.opened();
      await b.ask('whoami');
      const res = await request(t.server).post('/regenerate').set('Cookie', `xems_token=${regen}`);
      assert.equal(res.status, 200);
      assert.deepEqual((await b.waitFor((e) => e.event === 'xems:session-ended')).data, { reason: 'regenerated' });
      await b.closed;

      const short = await login(t, { user: 'short', ttl: '1s' });
      const c = connect({ cookie: short });
      await c.opened();
      await c.ask('whoami');
      assert.deepEqual((await c.waitFor((e) => e.event === 'xems:session-ended', 10_000)).data, { reason: 'expired' });
      await c.closed;
    });

    it('revokeAll ends every socket of the sandbox with reason admin; HTTP of those sessions is 401', async () => {
      const tokens = [await login(t, { user: 'all-a' }), await login(t, { user: 'all-b' })];
      const held = tokens.map((cookie) => connect({ cookie }));
      for (const s of held) {
        await s.opened();
        await s.ask('whoami');
      }
      assert.ok((await t.xems.revokeAll()) >= 2);
      for (const s of held) {
        assert.deepEqual((await s.waitFor((e) => e.event === 'xems:session-ended')).data, { reason: 'admin' });
        await s.closed;
      }
      for (const token of tokens) assert.equal((await me(t, token)).status, 401);
    });

    it('a message of a session that ended without an event is refused and the socket closed', async () => {
      const token = await login(t, { user: 'quiet' });
      const s = connect({ cookie: token });
      await s.opened();
      await s.ask('whoami');
      // Ended behind the module's back (another instance, no pub/sub): the guard's id check finds it gone.
      assert.ok(await t.app.get(SidecarApi).sRevoke('xems.session', token));
      const answer = await s.ask('whoami');
      assert.equal(answer.event, 'exception');
      assert.equal((answer.data as { message: string }).message, 'Unauthorized');
      assert.deepEqual((await s.waitFor((e) => e.event === 'xems:session-ended')).data, { reason: 'ended' });
      assert.ok(await closesWithin(s, 5000));
    });
  });
}

describe('WebSockets with cookie.sameSite none: the cookie counts only from the same origin', () => {
  let t: WsTestApp;
  before(async () => {
    t = await createWsApp('ws', { cookie: { sameSite: 'none' } });
  });
  after(async () => {
    await t.close();
  });

  it('refuses a cross-site handshake (reason origin), accepts the same origin and a header token from anywhere', async () => {
    const token = await login(t);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['cross-site cookie', { cookie: `xems_token=${token}`, origin: 'https://evil.example' }, 'xems:unauthorized'],
      ['same-origin cookie', { cookie: `xems_token=${token}`, origin: `http://127.0.0.1:${t.port}` }, 'whoami'],
      ['cross-site header token', { 'x-xems-token': token, origin: 'https://evil.example' }, 'whoami'],
    ];
    for (const [name, headers, expected] of cases) {
      const ws = new WebSocket(`ws://127.0.0.1:${t.port}${WS_PATH}`, { headers });
      const first = await new Promise<{ event: string; data: unknown }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no answer`)), 5000);
        ws.on('message', (raw) => {
          clearTimeout(timer);
          resolve(JSON.parse(String(raw)) as { event: string; data: unknown });
        });
        ws.on('open', () => ws.send(JSON.stringify({ event: 'whoami', data: {} })));
      });
      assert.equal(first.event, expected, `${name}: ${JSON.stringify(first)}`);
      if (expected === 'xems:unauthorized') assert.deepEqual(first.data, { reason: 'origin' });
      ws.close();
    }
  });
});

describe('WebSockets on socket.io with XemsSockets.ioMiddleware', () => {
  let t: WsTestApp;
  const sockets: TestSocket[] = [];
  before(async () => {
    t = await createWsApp('socket.io', {}, true);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await t.close();
  });

  it('a client without a session never connects (connect_error with the reason); one with a session works', async () => {
    for (const [creds, reason] of [
      [{}, 'missing'],
      [{ cookie: 'x'.repeat(70) }, 'invalid'],
    ] as const) {
      const s = new TestSocket('socket.io', t.port, creds);
      sockets.push(s);
      const refused = await s.waitFor((e) => e.event === 'connect_error');
      assert.deepEqual(refused.data, { message: 'unauthorized', data: { reason } });
      assert.equal(s.events.length, 1, 'nothing but the refusal');
    }
    const token = await login(t, { user: 'mw' });
    const s = new TestSocket('socket.io', t.port, { authToken: token });
    sockets.push(s);
    await s.opened();
    assert.equal(((await s.ask('whoami')).data as { user: string }).user, 'mw');
    const res = await request(t.server).post('/logout').set('Cookie', `xems_token=${token}`);
    assert.equal(res.status, 200);
    assert.deepEqual((await s.waitFor((e) => e.event === 'xems:session-ended')).data, { reason: 'revoked' });
    assert.ok(await closesWithin(s, 5000));
  });
});

for (const platform of WS_PLATFORMS) {
  describe(`a WebSocket handshake while the sidecar cannot answer (${platform})`, () => {
    it("is refused with reason 'unavailable' (ws: close 1013 'unavailable', try again later), then accepted", async () => {
      const t = await createWsApp(platform, { sidecar: { requestTimeout: 500 } });
      const pid = t.xems.sidecar.pid!;
      try {
        const token = await login(t, { user: 'stalled' });
        process.kill(pid, 'SIGSTOP');
        let s: TestSocket;
        try {
          await waitStopped(pid); // SIGSTOP takes effect thread by thread
          s = new TestSocket(platform, t.port, { cookie: token });
          const refused = await s.waitFor((e) => e.event === 'xems:unauthorized', 5000);
          assert.deepEqual(refused.data, { reason: 'unavailable' });
          assert.ok(await closesWithin(s, 5000), 'closed');
        } finally {
          process.kill(pid, 'SIGCONT');
        }
        if (platform === 'ws')
          assert.deepEqual(await s.closed.then(({ code, reason }) => ({ code, reason })), { code: 1013, reason: 'unavailable' });
        const again = new TestSocket(platform, t.port, { cookie: token }); // the sidecar answers again
        await again.opened();
        const whoami = (await again.ask('whoami')).data;
        again.close();
        assert.equal((whoami as { user: string }).user, 'stalled');
      } finally {
        await t.close();
      }
    });
  });
}
