import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { XemsModuleOptions } from '../src';
import { CapturingLogger } from './support/xems-features-app';
import { type TestApp, cookieToken, createTestApp, sleep } from './support/xems-test-app';
import { type RedisServer, freePort, redisCommand, startRedis } from './support/redis-servers';
import { waitStopped } from './support/stalls';

// What an operator sees in the app's log when Redis or the sidecar fails (found by a user audit:
// a Redis outage and a stopped sidecar answered 503 without a single log line, and a rediss://
// server with a private CA answered 503 forever with the cause "connection error" and no way
// to trust the CA).

const SECRET = `base64:${randomBytes(32).toString('base64')}`;

function options(url: string): XemsModuleOptions {
  return {
    store: { type: 'redis', url, timeout: 300 },
    persistence: { secret: SECRET },
    hardwareBinding: { id: 'ops-logs' },
    sidecar: { requestTimeout: '2s' },
  };
}

async function start(url: string, secret = SECRET): Promise<{ app: TestApp; logs: CapturingLogger }> {
  const logs = new CapturingLogger();
  const app = await createTestApp({ ...options(url), persistence: { secret } }, 'fastify', [], { logger: logs });
  return { app, logs };
}

const login = (app: TestApp) => request(app.server).post('/login').send({ user: 'ops' });
const me = (app: TestApp, token: string) => request(app.server).get('/me').set('Cookie', `xems_token=${token}`);
const count = (logs: CapturingLogger, text: string) => logs.lines.filter((l) => l.includes(text)).length;

/** Waits (bounded) until a log line contains `text`. */
async function logLine(logs: CapturingLogger, text: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = logs.lines.find((l) => l.includes(text));
    if (line) return line;
    if (Date.now() > deadline) assert.fail(`no log line with "${text}":\n${logs.lines.join('\n')}`);
    await sleep(50);
  }
}

/**
 * Polls GET /me with the session's token until it answers 200 (at most `tries` times, `everyMs`
 * apart); the token it then holds (rotated), or undefined when it never did.
 */
async function untilServed(app: TestApp, token: string, tries: number, everyMs: number): Promise<string | undefined> {
  for (let i = 0; i < tries; i++) {
    const r = await me(app, token);
    if (r.status === 200) return cookieToken(r) ?? token;
    await sleep(everyMs);
  }
  return undefined;
}

describe('Redis faults in the log', () => {
  it('an outage writes one warning when requests start failing and one line when Redis answers again', async () => {
    const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    const { app, logs } = await start(redis.url);
    try {
      const res = await login(app);
      assert.equal(res.status, 200);
      let token = cookieToken(res)!;
      await redis.kill();
      let unavailable = 0;
      for (let i = 0; i < 60 && unavailable < 8; i++) {
        const r = await me(app, token);
        assert.ok([200, 503].includes(r.status), `status ${r.status}`);
        if (r.status === 503) unavailable++;
        else token = cookieToken(r) ?? token;
        await sleep(20);
      }
      assert.ok(unavailable >= 8, `${unavailable} answers of 503`);
      const warning = await logLine(logs, 'Redis is not answering');
      assert.match(warning, /^WARN /);
      assert.match(warning, /503/);
      await redis.restart();
      const servedWith = await untilServed(app, token, 300, 50);
      assert.ok(servedWith, 'no 200 after the restart');
      token = servedWith;
      await logLine(logs, 'Redis answers again');
      assert.equal(count(logs, 'Redis is not answering'), 1, 'one warning per outage, not one per request');
      for (const line of logs.lines) {
        assert.ok(!line.includes(token) && !line.includes(SECRET.slice(7)), `a secret in: ${line}`);
      }
    } finally {
      await app.close();
      await redis.stop();
    }
  });

  it('a Redis at its maxmemory (noeviction) is an outage: 503 and a warning naming OOM, never a 500', async () => {
    const redis = await startRedis();
    const { app, logs } = await start(redis.url);
    try {
      const res = await login(app);
      assert.equal(res.status, 200);
      let token = cookieToken(res)!;
      await redisCommand(redis.port, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await redisCommand(redis.port, 'CONFIG', 'SET', 'maxmemory', '1');
      for (let i = 0; i < 4; i++) {
        const r = await me(app, token); // a rotation writes: refused by Redis
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.headers['retry-after'], '1');
      }
      assert.equal((await login(app)).status, 503);
      assert.match(await logLine(logs, 'Redis is not answering'), /OOM: Redis reached its maxmemory/);
      assert.ok(!logs.lines.some((l) => l.includes('report')), `a "bug" line:\n${logs.lines.join('\n')}`);
      await redisCommand(redis.port, 'CONFIG', 'SET', 'maxmemory', '0');
      const servedWith = await untilServed(app, token, 100, 50);
      assert.ok(servedWith, 'the session is served again once Redis has memory');
      token = servedWith;
    } finally {
      await app.close();
      await redis.stop();
    }
  });

  it('started while Redis was unreachable: a warning, then one line once Redis answers and requests are served', async () => {
    const redis = await startRedis();
    const pid = Number(await redisCommand(redis.port, 'INFO', 'server').then((i) => /process_id:(\d+)/.exec(String(i))![1]));
    let started: { app: TestApp; logs: CapturingLogger } | undefined;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitStopped(pid); // SIGSTOP takes effect thread by thread
      started = await start(redis.url);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    try {
      await logLine(started.logs, 'not reachable yet');
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await login(started.app)).status;
        if (status !== 200) await sleep(50);
      }
      assert.equal(status, 200);
      await logLine(started.logs, 'Redis is reachable: the store is ready');
    } finally {
      await started.app.close();
      await redis.stop();
    }
  });

  it('an instance started with another secret while Redis was unreachable: 503 and one error line, never a 500', async () => {
    const redis = await startRedis();
    const first = await start(redis.url); // writes the deployment's key check
    let other: { app: TestApp; logs: CapturingLogger } | undefined;
    try {
      assert.equal((await login(first.app)).status, 200);
      const pid = Number(await redisCommand(redis.port, 'INFO', 'server').then((i) => /process_id:(\d+)/.exec(String(i))![1]));
      process.kill(pid, 'SIGSTOP'); // unreachable while the second instance starts
      try {
        await waitStopped(pid); // SIGSTOP takes effect thread by thread
        other = await start(redis.url, `base64:${randomBytes(32).toString('base64')}`);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await logLine(other.logs, 'not reachable yet');
      for (let i = 0; i < 3; i++) {
        const r = await login(other.app);
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.headers['retry-after'], '1');
      }
      assert.match(await logLine(other.logs, 'cannot read the shared store'), /^ERROR .*another shared secret/);
      assert.equal(count(other.logs, 'cannot read the shared store'), 1, 'logged once');
      assert.equal((await login(first.app)).status, 200, 'the deployment itself is unaffected');
    } finally {
      await other?.app.close();
      await first.app.close();
      await redis.stop();
    }
  });

  describe('rediss:// with a private CA', () => {
    let dir: string;
    let redis: RedisServer;
    let tlsUrl: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'xems-tls-'));
      // A self-signed certificate for 127.0.0.1: a CA of its own that no system trusts.
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' }); // prettier-ignore
      const tlsPort = await freePort();
      redis = await startRedis([
        '--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'),
        '--tls-auth-clients', 'no',
      ]); // prettier-ignore
      tlsUrl = `rediss://127.0.0.1:${tlsPort}`;
    });

    after(async () => {
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('untrusted: 503 and a warning that names the certificate and SSL_CERT_FILE', async () => {
      const saved = process.env.SSL_CERT_FILE;
      delete process.env.SSL_CERT_FILE;
      const { app, logs } = await start(tlsUrl);
      try {
        const res = await login(app);
        assert.equal(res.status, 503);
        const line = await logLine(logs, 'TLS certificate not trusted');
        assert.match(line, /SSL_CERT_FILE/);
      } finally {
        if (saved !== undefined) process.env.SSL_CERT_FILE = saved;
        await app.close();
      }
    });

    it('a TLS connection Redis closed while idle (its timeout) is replaced, not handed to a request (no 503)', async () => {
      const saved = process.env.SSL_CERT_FILE;
      process.env.SSL_CERT_FILE = join(dir, 'cert.pem');
      await redisCommand(redis.port, 'CONFIG', 'SET', 'timeout', '1');
      try {
        const { app, logs } = await start(tlsUrl);
        try {
          const res = await login(app);
          assert.equal(res.status, 200, logs.lines.join('\n'));
          let token = cookieToken(res)!;
          for (let i = 0; i < 2; i++) {
            await sleep(2500); // Redis closes the idle connections after 1 s (checked 10 times a second)
            const r = await me(app, token);
            assert.equal(r.status, 200, `request ${i} after an idle period: ${JSON.stringify(r.body)}`);
            token = cookieToken(r) ?? token;
          }
        } finally {
          await app.close();
        }
      } finally {
        await redisCommand(redis.port, 'CONFIG', 'SET', 'timeout', '0');
        if (saved === undefined) delete process.env.SSL_CERT_FILE;
        else process.env.SSL_CERT_FILE = saved;
      }
    });

    it('SSL_CERT_FILE in the app environment reaches the sidecar: the app logs in over TLS', async () => {
      const saved = process.env.SSL_CERT_FILE;
      process.env.SSL_CERT_FILE = join(dir, 'cert.pem');
      try {
        const { app, logs } = await start(tlsUrl);
        try {
          const res = await login(app);
          assert.equal(res.status, 200, logs.lines.join('\n'));
          const r = await me(app, cookieToken(res)!);
          assert.equal(r.status, 200);
          assert.equal(r.body.user, 'ops');
        } finally {
          await app.close();
        }
      } finally {
        if (saved === undefined) delete process.env.SSL_CERT_FILE;
        else process.env.SSL_CERT_FILE = saved;
      }
    });
  });
});

describe('a stalled sidecar in the log', () => {
  it('SIGSTOP: one warning when calls time out unanswered, one line when it answers again', async () => {
    const logs = new CapturingLogger();
    const app = await createTestApp({ sidecar: { requestTimeout: 500 } }, 'fastify', [], { logger: logs });
    const pid = app.xems.sidecar.pid!;
    try {
      const res = await login(app);
      assert.equal(res.status, 200);
      let token = cookieToken(res)!;
      process.kill(pid, 'SIGSTOP');
      try {
        await waitStopped(pid); // SIGSTOP takes effect thread by thread
        for (let i = 0; i < 3; i++) assert.equal((await me(app, token)).status, 503);
        const warning = await logLine(logs, 'did not answer within 500 ms');
        assert.match(warning, /^WARN .*XemsTimeoutError \(503\)/);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const servedWith = await untilServed(app, token, 100, 20);
      assert.ok(servedWith, 'no 200 after SIGCONT');
      token = servedWith;
      await logLine(logs, `Sidecar (pid ${pid}) answers again after`);
      assert.equal(count(logs, 'did not answer within'), 1, 'one warning per stall, not one per call');
      assert.ok(!logs.lines.some((l) => l.includes(token)), 'no token in the log');
    } finally {
      await app.close();
    }
  });
});
