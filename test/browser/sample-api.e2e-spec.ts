// The sample app's HTTP API without a browser (real module, real sidecar): the edge cases the
// browser test does not reach, and the `npm run sample` entry point as a real process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XemsService } from '../../src';
import { XEMS_DEFAULTS } from '../../src';
import { OTP_MAX_ATTEMPTS, OTP_SANDBOX } from '../../sample/src/auth/session.types';
import { USERS_SANDBOX } from '../../sample/src/users/users.service';
import { CookieClient } from './support/cookie-client';
import { childPids, executableOf, isAlive, Spawned } from './support/processes';
import { repoRoot } from './support/paths';
import { startSample, type RunningSample } from './support/sample-server';

const PASSWORD = 'a long enough password';

/** The sum of the samples of `name` (Prometheus text format) whose labels contain `labels`. */
function promValue(text: string, name: string, labels: string): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) continue;
    sum += Number(m[3]);
    found = true;
  }
  assert.ok(found, `no sample of ${name}{${labels}} in:\n${text.slice(0, 2000)}`);
  return sum;
}

/** Registers `email`, then logs in with the code; returns the client holding the active session. */
async function loggedIn(url: string, email: string, userAgent?: string): Promise<CookieClient> {
  const client = new CookieClient(url, userAgent);
  const reg = await client.post('/api/register', { email, name: email.split('@')[0], password: PASSWORD });
  assert.ok(reg.status === 201 || reg.status === 409, `register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await client.post('/api/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const verify = await client.post('/api/login/verify', { code: login.body.demoCode });
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  return client;
}

describe('sample app: HTTP API', { timeout: 60_000 }, () => {
  let sample: RunningSample;
  let xems: XemsService;

  // A failed start fails every test with its message instead of cancelling them.
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  before(async () => {
    try {
      sample = await startSample();
      xems = sample.app.get(XemsService);
    } catch (err) {
      setupError = err;
    }
  });
  after(async () => {
    await sample?.app.close();
  });

  it('serves the page and its script with a strict Content-Security-Policy', async () => {
    ready();
    for (const path of ['/', '/app.js', '/style.css']) {
      const res = await fetch(sample.url + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-powered-by'), null);
    }
    const html = await (await fetch(sample.url)).text();
    assert.match(html, /<script src="\/app.js"/);
  });

  it('validates the register form with 400s and refuses a second account for one email', async () => {
    ready();
    const client = new CookieClient(sample.url);
    for (const body of [
      {},
      { email: 'not-an-email', name: 'x', password: PASSWORD },
      { email: 'blank@example.test', name: '   ', password: PASSWORD },
      { email: 'short@example.test', name: 'x', password: 'short' },
      { email: 'extra@example.test', name: 'x', password: PASSWORD, admin: true },
      { email: 'x'.repeat(10_000) + '@example.test', name: 'x', password: PASSWORD },
    ]) {
      const res = await client.post('/api/register', body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${res.status}`);
      assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace in the response');
    }
    assert.equal((await client.post('/api/register', { email: 'Dup@Example.test', name: 'D', password: PASSWORD })).status, 201);
    const dup = await client.post('/api/register', { email: 'dup@example.test', name: 'D', password: PASSWORD });
    assert.equal(dup.status, 409);
  });

  it('keeps users in the users-registry sandbox with an scrypt hash, never the password', async () => {
    ready();
    const client = new CookieClient(sample.url);
    assert.equal((await client.post('/api/register', { email: 'hash@example.test', name: 'H', password: PASSWORD })).status, 201);
    const record = await xems.from(USERS_SANDBOX).get<{ passwordHash: string; email: string }>('user:hash@example.test');
    assert.ok(record, 'the user record is in users-registry');
    assert.match(record.passwordHash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!JSON.stringify(record).includes(PASSWORD));
    assert.equal(await xems.from(XEMS_DEFAULTS.sandbox).get('user:hash@example.test'), null, 'not in the session sandbox');
  });

  it('refuses a wrong password and an unknown email with the same 401', async () => {
    ready();
    const client = new CookieClient(sample.url);
    await client.post('/api/register', { email: 'pw@example.test', name: 'P', password: PASSWORD });
    const wrong = await client.post('/api/login', { email: 'pw@example.test', password: 'wrong password!' });
    const unknown = await client.post('/api/login', { email: 'nobody@example.test', password: PASSWORD });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body.message, unknown.body.message);
    assert.equal(client.token, undefined, 'no session cookie after a failed login');
  });

  it('keeps a pending login in otp-pending for 15 minutes, unusable as a session, then replaces it', async () => {
    ready();
    const client = new CookieClient(sample.url);
    await client.post('/api/register', { email: 'otp@example.test', name: 'O', password: PASSWORD });
    const login = await client.post('/api/login', { email: 'otp@example.test', password: PASSWORD });
    assert.equal(login.status, 200);
    assert.match(login.body.demoCode, /^\d{6}$/);
    assert.match(login.setCookie ?? '', /HttpOnly/i);
    assert.match(login.setCookie ?? '', /Secure/i);
    assert.match(login.setCookie ?? '', /SameSite=Strict/i);
    assert.ok(sample.logger.lines.some((l) => l.includes(`One-time code for otp@example.test: ${login.body.demoCode}`)));

    const pendingToken = client.token!;
    const pending = await xems.resolveSession(pendingToken, { sandbox: OTP_SANDBOX, rotate: false });
    assert.ok(pending, 'the pending session lives in otp-pending');
    assert.equal((pending.data as { code: string }).code, login.body.demoCode);
    const ttlMs = pending.expiresAt - Date.now();
    assert.ok(ttlMs > 14 * 60_000 && ttlMs <= 15 * 60_000, `pending TTL is 15 minutes (got ${ttlMs} ms)`);
    // The XEMS tutorial way of reading it works too.
    assert.equal((await xems.from(OTP_SANDBOX).get<{ email: string }>(pendingToken))?.email, 'otp@example.test');

    assert.equal((await client.get('/api/me')).status, 401, 'a pending login is not a session');
    client.token = pendingToken;

    const verify = await client.post('/api/login/verify', { code: login.body.demoCode });
    assert.equal(verify.status, 200);
    assert.notEqual(client.token, pendingToken);
    assert.equal(await xems.from(OTP_SANDBOX).get(pendingToken), null, 'the pending session is deleted');
    assert.equal(await xems.resolveSession(pendingToken, { sandbox: OTP_SANDBOX, rotate: false }), null);

    const me = await client.get('/api/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, 'otp@example.test');

    const replay = new CookieClient(sample.url);
    replay.token = pendingToken;
    assert.equal(
      (await replay.post('/api/login/verify', { code: login.body.demoCode })).status,
      401,
      'the pending token cannot be replayed',
    );
  });

  it(`deletes the pending login after ${OTP_MAX_ATTEMPTS} wrong codes`, async () => {
    ready();
    const client = new CookieClient(sample.url);
    await client.post('/api/register', { email: 'guess@example.test', name: 'G', password: PASSWORD });
    const login = await client.post('/api/login', { email: 'guess@example.test', password: PASSWORD });
    const wrongCode = login.body.demoCode === '000000' ? '111111' : '000000';
    for (let i = 1; i < OTP_MAX_ATTEMPTS; i++) {
      const res = await client.post('/api/login/verify', { code: wrongCode });
      assert.equal(res.status, 401);
      assert.match(res.body.message, new RegExp(`${OTP_MAX_ATTEMPTS - i} attempts left`));
    }
    const last = await client.post('/api/login/verify', { code: wrongCode });
    assert.equal(last.status, 401);
    assert.match(last.body.message, /Too many wrong codes/);
    assert.equal(client.token, undefined, 'the pending cookie is cleared');
    const stillPending = new CookieClient(sample.url);
    stillPending.token = login.setCookie!.split(';')[0].split('=')[1];
    assert.equal(
      (await stillPending.post('/api/login/verify', { code: login.body.demoCode })).status,
      401,
      'even the right code is refused now',
    );
    assert.equal((await client.post('/api/login/verify', { code: 'abc' })).status, 401, 'no session: 401 before validation');
  });

  it('rotates the token on every request and says so in a response header', async () => {
    ready();
    const client = await loggedIn(sample.url, 'rotate@example.test');
    const seen = new Set([client.token]);
    for (let i = 0; i < 3; i++) {
      const res = await client.get('/api/me');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-token-rotated'), '1');
      assert.match(res.headers.get('cache-control') ?? '', /no-store/);
      seen.add(client.token);
    }
    assert.equal(seen.size, 4, 'four distinct tokens');
  });

  it('lists devices with ip and user agent, and lets a user revoke only their own', async () => {
    ready();
    const laptop = await loggedIn(sample.url, 'dev@example.test', 'Laptop/1.0');
    const phone = await loggedIn(sample.url, 'dev@example.test', 'Phone/2.0');
    const other = await loggedIn(sample.url, 'other@example.test', 'Other/3.0');

    const list = await laptop.get('/api/devices');
    assert.equal(list.status, 200);
    const devices = list.body.devices as Array<{
      id: string;
      ip: string;
      userAgent: string;
      current: boolean;
      createdAt: number;
      lastSeenAt: number;
      expiresAt: number;
    }>;
    assert.equal(devices.length, 2);
    assert.deepEqual(devices.map((d) => [d.userAgent, d.current]).sort(), [
      ['Laptop/1.0', true],
      ['Phone/2.0', false],
    ]);
    for (const d of devices) {
      assert.match(d.ip, /127\.0\.0\.1/);
      assert.ok(d.expiresAt > Date.now() && d.createdAt <= Date.now());
    }
    const phoneId = devices.find((d) => d.userAgent === 'Phone/2.0')!.id;

    assert.equal((await other.delete(`/api/devices/${encodeURIComponent(phoneId)}`)).status, 404, "another user's device is not found");
    assert.equal((await phone.get('/api/me')).status, 200);
    assert.equal((await laptop.delete('/api/devices/no-such-id')).status, 404);

    const revoke = await laptop.delete(`/api/devices/${encodeURIComponent(phoneId)}`);
    assert.equal(revoke.status, 200);
    assert.equal((await phone.get('/api/me')).status, 401);
    assert.equal((await laptop.get('/api/me')).status, 200);
    assert.equal((await laptop.get('/api/devices')).body.devices.length, 1);
  });

  it('logs out idempotently and clears the cookie; the old token stays dead', async () => {
    ready();
    const anonymous = new CookieClient(sample.url);
    assert.equal((await anonymous.post('/api/logout')).status, 200, 'logout without a session is fine');

    const client = await loggedIn(sample.url, 'bye@example.test');
    const token = client.token;
    const res = await client.post('/api/logout');
    assert.equal(res.status, 200);
    assert.match(res.setCookie ?? '', /^xems_token=;|Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    assert.equal(client.token, undefined);
    const replay = new CookieClient(sample.url);
    replay.token = token;
    assert.equal((await replay.get('/api/me')).status, 401);
  });

  it('asks for the password again before an e-mail change when the sign-in is more than 5 minutes old', async () => {
    ready();
    const client = await loggedIn(sample.url, 'step-up@example.test');
    const fresh = await client.post('/api/account/email', { email: 'step-up2@example.test' });
    assert.equal(fresh.status, 200, 'right after the sign-in');
    assert.equal(fresh.body.user?.email, 'step-up2@example.test');
    // Six minutes later, on this process's clock (the freshness rule is taken in Node; the
    // sidecar keeps the sign-in time the module gave it).
    const realNow = Date.now;
    const later = () => realNow() + 6 * 60_000;
    const shifted = async <T>(fn: () => Promise<T>): Promise<T> => {
      Date.now = later;
      try {
        return await fn();
      } finally {
        Date.now = realNow;
      }
    };
    const stale = await shifted(() => client.post('/api/account/email', { email: 'step-up3@example.test' }));
    assert.equal(stale.status, 401);
    assert.equal((stale.body as { code?: string }).code, 'XEMS_FRESH_AUTH_REQUIRED');
    assert.match(stale.headers.get('www-authenticate') ?? '', /error="insufficient_user_authentication".*max_age=300/);
    assert.equal((await client.get('/api/me')).status, 200, 'the session itself stays');
    assert.equal((await client.post('/api/reauthenticate', { password: 'not the password' })).status, 401);
    const before = client.token;
    const reauth = await shifted(() => client.post('/api/reauthenticate', { password: PASSWORD }));
    assert.equal(reauth.status, 200);
    assert.notEqual(client.token, before, 'a new token after the password prompt');
    const retried = await shifted(() => client.post('/api/account/email', { email: 'step-up3@example.test' }));
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((await client.get('/api/me')).body.user?.email, 'step-up3@example.test');
    const old = new CookieClient(sample.url);
    old.token = before;
    assert.equal((await old.get('/api/me')).status, 401, 'the token before the password prompt is dead');
  });

  it('logs out everywhere', async () => {
    ready();
    const a = await loggedIn(sample.url, 'all@example.test', 'A');
    const b = await loggedIn(sample.url, 'all@example.test', 'B');
    const c = await loggedIn(sample.url, 'all@example.test', 'C');
    const res = await a.post('/api/logout-all');
    assert.equal(res.status, 200);
    assert.equal(res.body.revoked, 3);
    for (const client of [a, b, c]) assert.equal((await client.get('/api/me')).status, 401);
  });

  it('answers GET /metrics with the Prometheus text of the xems metrics, moving with the requests and naming no token', async () => {
    ready();
    const client = await loggedIn(sample.url, 'metrics@example.test');
    const scrape = async () => {
      const res = await fetch(`${sample.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    const before = await scrape();
    const tokens = [client.token];
    for (let i = 0; i < 2; i++) {
      assert.equal((await client.get('/api/me')).status, 200);
      tokens.push(client.token);
    }
    const text = await scrape();
    const rotations = (t: string) => promValue(t, 'xems_session_rotations_total', 'xems_sandbox="xems.session"');
    assert.equal(rotations(text) - rotations(before), 2, 'two rotations');
    assert.ok(promValue(text, 'xems_session_created_total', 'xems_sandbox="xems.session"') >= 1);
    assert.equal(promValue(text, 'xems_sidecar_up', ''), 1);
    assert.ok(promValue(text, 'xems_session_live', 'xems_sandbox="xems.session"') >= 1);
    assert.ok(promValue(text, 'rpc_client_call_duration_count', 'rpc_method="xems.Sidecar/S_RESOLVE"') >= 2);
    assert.match(text, /^# TYPE xems_session_revocations_total counter$/m);
    for (const token of tokens) assert.ok(token && !text.includes(token), 'no token in /metrics');
    assert.ok(!text.includes('metrics@example.test'), 'no user data in /metrics');
  });
});

describe('sample entry point (node build/sample/src/main.js)', { timeout: 60_000 }, () => {
  // build/test/browser -> build/sample/src/main.js (what `npm run sample` runs)
  const main = join(__dirname, '..', '..', 'sample', 'src', 'main.js');
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    const copy = { ...process.env, ...extra };
    for (const key of ['XEMS_SECRET', 'XEMS_PERSIST', 'XEMS_INSECURE_COOKIES']) if (!(key in extra)) delete copy[key];
    return copy;
  };

  it('prints its URL, serves the page, and stops its sidecar on SIGTERM (enableShutdownHooks)', async () => {
    const proc = new Spawned(process.execPath, [main], { cwd: repoRoot(), env: env({ PORT: '0' }) });
    try {
      const [, url] = await proc.waitFor(/(http:\/\/127\.0\.0\.1:\d+)/, 20_000);
      assert.equal((await fetch(url)).status, 200);
      const sidecars = childPids(proc.child.pid!).filter((pid) => executableOf(pid)?.endsWith('xems-sidecar'));
      assert.equal(sidecars.length, 1, 'one sidecar child');
      proc.child.kill('SIGTERM');
      const exit = await proc.waitExit(10_000);
      assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', `clean exit, got ${JSON.stringify(exit)}`);
      assert.equal(isAlive(sidecars[0]), false, 'the sidecar is gone');
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('--persist without XEMS_SECRET explains what to set and exits non-zero', async () => {
    const proc = new Spawned(process.execPath, [main, '--persist'], { cwd: repoRoot(), env: env({ PORT: '0' }) });
    const exit = await proc.waitExit(20_000);
    assert.equal(exit.code, 1);
    assert.match(proc.stderr, /XEMS_SECRET/);
  });

  it("--persist with a bad XEMS_SECRET stops with the module's explanation and never prints the secret", async () => {
    const secret = 'x'.repeat(43);
    const proc = new Spawned(process.execPath, [main, '--persist'], {
      cwd: repoRoot(),
      env: env({ PORT: '0', XEMS_SECRET: secret, XEMS_PERSIST_PATH: join(mkdtempSync(join(tmpdir(), 'xems-sample-')), 'vault') }),
    });
    const exit = await proc.waitExit(20_000);
    assert.equal(exit.code, 1);
    assert.match(proc.stderr, /persistence\.secret.*43 characters long/);
    assert.match(proc.stderr, /Fix: .*nestjs-xems secret/);
    assert.ok(!proc.output.includes(secret), 'the secret is never printed');
  });

  it('--persist keeps the user logged in across a restart of the sample (SIGTERM, start again)', async () => {
    const secret = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'nestjs-xems.js'), 'secret'], { encoding: 'utf8' }).stdout.trim();
    const vault = join(mkdtempSync(join(tmpdir(), 'xems-sample-')), 'vault');
    const start = async () => {
      const proc = new Spawned(process.execPath, [main, '--persist'], {
        cwd: repoRoot(),
        env: env({ PORT: '0', XEMS_SECRET: secret, XEMS_PERSIST_PATH: vault }),
      });
      const [, url] = await proc.waitFor(/(http:\/\/127\.0\.0\.1:\d+)/, 20_000);
      return { proc, url };
    };
    const stop = async (proc: Spawned) => {
      proc.child.kill('SIGTERM');
      const exit = await proc.waitExit(10_000);
      assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', `clean exit, got ${JSON.stringify(exit)}`);
    };
    const first = await start();
    let token: string | undefined;
    try {
      assert.match(first.proc.output, /Persistence: created a new vault/);
      const client = await loggedIn(first.url, 'persist@example.test');
      const me = await client.get('/api/me');
      assert.equal(me.status, 200);
      token = client.token;
    } finally {
      await stop(first.proc);
    }
    const second = await start();
    try {
      assert.match(second.proc.output, /Persistence: loaded \d+ records from the vault/);
      const client = new CookieClient(second.url);
      client.token = token;
      const me = await client.get('/api/me');
      assert.equal(me.status, 200, 'the session survived the restart');
      assert.equal(me.body.user.email, 'persist@example.test');
      assert.ok(
        !second.proc.output.includes(secret.slice(7)) && !first.proc.output.includes(secret.slice(7)),
        'the secret is never printed',
      );
    } finally {
      await stop(second.proc);
    }
  });

  it('refuses an unknown argument', async () => {
    const proc = new Spawned(process.execPath, [main, '--bogus'], { cwd: repoRoot(), env: env({ PORT: '0' }) });
    const exit = await proc.waitExit(20_000);
    assert.equal(exit.code, 2);
    assert.match(proc.stderr, /Unknown argument "--bogus"/);
  });
});
