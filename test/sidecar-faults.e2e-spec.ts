import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Logger, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { XemsEvent, XemsModule, XemsModuleOptions, XemsProtocolError, XemsService, XemsSidecarError } from '../src';
import { locateSidecarBinary } from '../src/sidecar/binary-locator';
import { PROTOCOL_VERSION } from '../src/sidecar/stdio-protocol.gen';
import { nextEvent } from './support/events';
import { isAlive, waitForExit } from './support/processes';
import { PLATFORMS, TestApp, cookieToken, createTestApp, sleep } from './support/xems-test-app';

const workDir = mkdtempSync(join(tmpdir(), 'xems-faults-'));

/** Writes an executable Node script to stand in for the sidecar binary. */
function fakeBinary(name: string, body: string): string {
  const path = join(workDir, name);
  writeFileSync(path, `#!${process.execPath}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function startModule(options: XemsModuleOptions) {
  const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot(options)] })
    .setLogger(false as never)
    .compile();
  return { ref, xems: ref.get(XemsService) };
}

/** NestJS 11 rethrows the init error from close(); 12 does not. Either way nothing is left running. */
async function closeAfterFailedInit(ref: { close(): Promise<void> }): Promise<void> {
  await ref.close().catch(() => undefined);
}

after(() => rmSync(workDir, { recursive: true, force: true }));

for (const platform of PLATFORMS) {
  describe(`sidecar crash during traffic (${platform})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({}, platform);
    });
    after(async () => {
      await t?.close();
    });

    it('SIGKILL of the sidecar -> 503 with Retry-After (never 500, never a pass), then 200 within 2 s of the restart', async () => {
      const oldPid = t.xems.sidecar.pid!;
      const results: Array<{ at: number; status: number; retryAfter?: string; path: string }> = [];
      let stop = false;
      let outageProbes: Promise<void> | undefined;

      // Requests fired the moment the outage is announced land before the restart (50 ms later).
      const unavailable = nextEvent(t.xems, 'sidecar.unavailable').then((event) => {
        const token = 'A'.repeat(70);
        outageProbes = Promise.all(
          Array.from({ length: 5 }, async () => {
            const res = await request(t.server).get('/me').set('Cookie', `xems_token=${token}`);
            results.push({ at: Date.now(), status: res.status, retryAfter: res.headers['retry-after'], path: '/me (probe)' });
          }),
        ).then(() => undefined);
        return event;
      });
      let restartAnnouncedAt = Infinity;
      const restarted = nextEvent(t.xems, 'sidecar.restarted').then((event) => {
        restartAnnouncedAt = Date.now();
        return event;
      });

      // Four clients, each logging in and calling /me with its own rotating token.
      const worker = async (n: number) => {
        let token: string | undefined;
        while (!stop) {
          if (!token) {
            const res = await request(t.server)
              .post('/login')
              .send({ user: `w${n}` });
            results.push({ at: Date.now(), status: res.status, retryAfter: res.headers['retry-after'], path: '/login' });
            token = res.status === 200 ? cookieToken(res) : undefined;
            if (!token) await sleep(20);
            continue;
          }
          const res = await request(t.server).get('/me').set('Cookie', `xems_token=${token}`);
          results.push({ at: Date.now(), status: res.status, retryAfter: res.headers['retry-after'], path: '/me' });
          if (res.status === 200) token = cookieToken(res) ?? token;
          else if (res.status === 401)
            token = undefined; // in-memory sessions died with the sidecar: log in again
          else await sleep(10);
        }
      };
      const workers = [0, 1, 2, 3].map(worker);
      await sleep(300);
      const killedAt = Date.now();
      process.kill(oldPid, 'SIGKILL');
      const down = await unavailable;
      assert.equal((down as { willRestart: boolean }).willRestart, true);
      const up = await restarted;
      const restartedAt = Date.now();
      assert.equal(up.type, 'sidecar.restarted');
      assert.notEqual((up as { pid: number }).pid, oldPid);
      // Keep the traffic going until a /me succeeds again after the restart, at most 2 s.
      while (Date.now() - restartedAt < 2000 && !results.some((r) => r.at > restartedAt && r.path === '/me' && r.status === 200)) {
        await sleep(20);
      }
      stop = true;
      await Promise.all(workers);
      await outageProbes;

      const statuses = new Set(results.map((r) => r.status));
      for (const status of statuses) assert.ok([200, 401, 503].includes(status), `unexpected status ${status}`);
      const unavailableResponses = results.filter((r) => r.status === 503);
      assert.ok(unavailableResponses.length >= 5, `503s during the outage: ${unavailableResponses.length}`);
      for (const r of unavailableResponses) assert.equal(r.retryAfter, '1', `${r.path} 503 carries Retry-After`);
      // A probe answered before the restart was announced met the outage: 503, never a pass and
      // never a 401 (which would log its user out). On a loaded machine a probe can be answered
      // after the restart (then 401: its token is made up); those say nothing about the outage.
      const probes = results.filter((r) => r.path === '/me (probe)');
      assert.ok(
        probes.every((r) => r.status === 503 || (r.status === 401 && r.at >= restartAnnouncedAt)),
        `requests during the outage are refused with 503, never passed: ${JSON.stringify(probes)}`,
      );
      const firstOk = results.find((r) => r.at > restartedAt && r.path === '/me' && r.status === 200);
      assert.ok(firstOk, 'a /me succeeded again after the restart');
      assert.ok(firstOk.at - restartedAt < 2000, `200 again ${firstOk.at - restartedAt} ms after the restart`);
      assert.ok(restartedAt - killedAt < 2000, `restarted ${restartedAt - killedAt} ms after the kill`);
      await waitForExit(oldPid, 1000);
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`sidecar life cycle (${platform})`, () => {
    it('app.close() leaves no sidecar process', async () => {
      const t = await createTestApp({}, platform);
      const pid = t.xems.sidecar.pid!;
      assert.ok(isAlive(pid));
      await request(t.server).post('/login').send({});
      await t.close();
      assert.equal(isAlive(pid), false, 'the sidecar is gone as soon as close() resolves');
    });

    it('SIGKILL of the Node parent makes the sidecar exit within 1 s', async () => {
      const script = join(__dirname, 'support', 'parent-app.js');
      const parent = spawn(process.execPath, [script, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: parent.stdout! });
        rl.once('line', resolve);
        parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
      });
      const { sidecarPid, ok } = JSON.parse(line) as { sidecarPid: number; ok: boolean };
      assert.equal(ok, true);
      assert.ok(isAlive(sidecarPid));
      process.kill(parent.pid!, 'SIGKILL');
      const tookMs = await waitForExit(sidecarPid, 1000);
      assert.ok(tookMs <= 1000, `sidecar exited ${tookMs} ms after its parent was killed`);
    });

    it('an idle sidecar never keeps the Node process alive', async () => {
      const script = join(__dirname, 'support', 'parent-app.js');
      const child = spawn(process.execPath, [script, 'idle'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error('the process with an idle sidecar did not exit on its own within 10 s'));
        }, 10_000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 0);
      const { sidecarPid, ok } = JSON.parse(out.trim()) as { sidecarPid: number; ok: boolean };
      assert.equal(ok, true);
      await waitForExit(sidecarPid, 1000);
    });

    it('the child gets no secrets: a minimal environment and no arguments', async () => {
      const dump = join(workDir, 'env.json');
      const real = locateSidecarBinary();
      const wrapper = fakeBinary(
        'env-dump',
        `require('fs').writeFileSync(${JSON.stringify(dump)}, JSON.stringify({ env: process.env, argv: process.argv.slice(2) }));
       const c = require('child_process').spawn(${JSON.stringify(real)}, process.argv.slice(2), { stdio: 'inherit', env: process.env });
       c.on('exit', (code) => process.exit(code ?? 1));`,
      );
      process.env.XEMS_TEST_SECRET = 'do-not-leak-me';
      const { ref, xems } = await startModule({ sidecar: { binaryPath: wrapper } });
      try {
        await ref.init();
        const { env, argv } = JSON.parse(readFileSync(dump, 'utf8')) as { env: Record<string, string>; argv: string[] };
        assert.deepEqual(argv, []);
        assert.equal(env.XEMS_TEST_SECRET, undefined);
        assert.ok(!JSON.stringify(env).includes('do-not-leak-me'));
        for (const name of Object.keys(env)) {
          assert.ok(
            ['GOMAXPROCS', 'GOGC', 'GOMEMLIMIT', 'GODEBUG', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR'].includes(name),
            `unexpected variable ${name} in the child`,
          );
        }
        await xems.from('env').set('k', 1);
      } finally {
        delete process.env.XEMS_TEST_SECRET;
        await ref.close();
      }
    });

    it('restarts within the budget, then gives up and answers 503', async () => {
      const t = await createTestApp({ sidecar: { maxRestarts: 1 } }, platform);
      try {
        const restarted = nextEvent(t.xems, 'sidecar.restarted');
        process.kill(t.xems.sidecar.pid!, 'SIGKILL');
        assert.equal(((await restarted) as { attempt: number }).attempt, 1);
        const res = await request(t.server).post('/login').send({});
        assert.equal(res.status, 200);
        const gaveUp = new Promise<XemsEvent>((resolve) => {
          const sub = t.xems.events$.subscribe((e) => {
            if (e.type === 'sidecar.unavailable' && !e.willRestart) {
              sub.unsubscribe();
              resolve(e);
            }
          });
        });
        process.kill(t.xems.sidecar.pid!, 'SIGKILL');
        const event = (await gaveUp) as { reason: string };
        assert.match(event.reason, /restart budget/);
        assert.equal(t.xems.sidecar.state, 'failed');
        const refused = await request(t.server)
          .get('/me')
          .set('Cookie', `xems_token=${cookieToken(res)}`);
        assert.equal(refused.status, 503);
        assert.equal(refused.headers['retry-after'], '1');
        const login = await request(t.server).post('/login').send({});
        assert.equal(login.status, 503, 'XemsService calls in a handler map to 503 as well');
      } finally {
        await t.close();
      }
    });
  });
}

/**
 * A stand-in sidecar that completes the handshake, logs one JSON line on stderr, then ignores
 * SHUTDOWN, stdin EOF and SIGTERM: only SIGKILL stops it.
 */
const STUBBORN_SIDECAR = `
const frame = (payload) => { const len = Buffer.alloc(4); len.writeUInt32LE(payload.length); return Buffer.concat([len, payload]); };
const build = Buffer.from('dev+stubborn');
const hello = Buffer.alloc(9 + build.length); hello.writeUInt16LE(${PROTOCOL_VERSION}, 5); hello.writeUInt16LE(build.length, 7); build.copy(hello, 9);
process.stdout.write(frame(hello));
process.on('SIGTERM', () => {});
let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
    const payload = buf.subarray(4, 4 + buf.readUInt32LE(0));
    buf = buf.subarray(4 + payload.length);
    const id = payload.readUInt32LE(0), op = payload[4];
    if (op === 1) {
      const cfg = Buffer.from('{}'); const body = Buffer.alloc(2 + cfg.length); body.writeUInt16LE(cfg.length); cfg.copy(body, 2);
      const head = Buffer.alloc(5); head.writeUInt32LE(id); head[4] = 0;
      process.stdout.write(frame(Buffer.concat([head, body])));
      process.stderr.write(JSON.stringify({ time: 'x', level: 'WARN', msg: 'configured', sandbox: 'none' }) + '\\n');
    }
  }
});
process.stdin.on('end', () => {});
setInterval(() => {}, 1000);
`;

describe('sidecar shutdown', () => {
  it('SHUTDOWN, end stdin, then SIGKILL after shutdownTimeout; stderr JSON lines reach the Nest logger', async () => {
    const lines: string[] = [];
    const capture: LoggerService = {
      log: (m: unknown, ctx?: unknown) => lines.push(`LOG ${String(ctx)} ${String(m)}`),
      warn: (m: unknown, ctx?: unknown) => lines.push(`WARN ${String(ctx)} ${String(m)}`),
      error: (m: unknown, ctx?: unknown) => lines.push(`ERROR ${String(ctx)} ${String(m)}`),
    };
    const stubborn = fakeBinary('stubborn', STUBBORN_SIDECAR);
    const { ref, xems } = await startModule({ sidecar: { binaryPath: stubborn, shutdownTimeout: 300 } });
    Logger.overrideLogger(capture); // after compile(), which installs the testing logger
    try {
      await ref.init();
      const pid = xems.sidecar.pid!;
      const started = Date.now();
      await ref.close();
      const took = Date.now() - started;
      assert.equal(isAlive(pid), false, 'killed');
      assert.ok(took >= 300 && took < 3000, `shutdown took ${took} ms`);
      assert.ok(
        lines.some((l) => l.startsWith('WARN XemsSidecar') && l.includes('configured') && l.includes('"sandbox":"none"')),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /did not exit within 300 ms: killing it/.test(l)),
        lines.join('\n'),
      );
    } finally {
      Logger.overrideLogger(new Logger());
    }
  });

  it('never restarts once shutdown began, even if the sidecar dies meanwhile', async () => {
    const t = await createTestApp({});
    const events: string[] = [];
    const sub = t.xems.events$.subscribe((e) => events.push(e.type));
    const pid = t.xems.sidecar.pid!;
    const closing = t.close();
    process.kill(pid, 'SIGKILL');
    await closing;
    await sleep(300);
    sub.unsubscribe();
    assert.equal(t.xems.sidecar.state, 'stopped');
    assert.equal(t.xems.sidecar.pid, undefined);
    assert.ok(!events.includes('sidecar.restarted') && !events.includes('sidecar.unavailable'), events.join(','));
  });
});

describe('sidecar start-up failures', () => {
  it('a missing binary fails at start with XemsSidecarError saying how to build it', async () => {
    const { ref } = await startModule({ sidecar: { binaryPath: join(workDir, 'missing') } });
    await assert.rejects(ref.init(), (err: unknown) => {
      assert.ok(err instanceof XemsSidecarError);
      assert.equal(err.code, 'SIDECAR_NOT_FOUND');
      assert.match(err.hint, /npx nestjs-xems build-sidecar/);
      return true;
    });
    await closeAfterFailedInit(ref);
  });

  it('refuses a sidecar speaking another protocol version, naming both', async () => {
    const older = PROTOCOL_VERSION - 1;
    const helloOld = fakeBinary(
      'hello-old',
      `const build = Buffer.from('other-2.0');
       const payload = Buffer.alloc(4 + 1 + 2 + 2 + build.length);
       payload.writeUInt16LE(${older}, 5); payload.writeUInt16LE(build.length, 7); build.copy(payload, 9);
       const len = Buffer.alloc(4); len.writeUInt32LE(payload.length);
       process.stdout.write(Buffer.concat([len, payload]));
       process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`,
    );
    const { ref } = await startModule({ sidecar: { binaryPath: helloOld } });
    await assert.rejects(ref.init(), (err: unknown) => {
      assert.ok(err instanceof XemsProtocolError);
      assert.match(err.message, new RegExp(`protocol version ${older}`));
      assert.match(err.message, new RegExp(`speaks version ${PROTOCOL_VERSION}`));
      return true;
    });
    await closeAfterFailedInit(ref);
  });

  it('times out a sidecar that never completes the handshake, and kills it', async () => {
    const pidFile = join(workDir, 'silent.pid');
    // A shell script, not a Node one: it must have written its pid well within the 500 ms start
    // timeout even on a loaded machine (a Node start alone can take longer there).
    const silent = join(workDir, 'silent');
    writeFileSync(silent, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 1000\n`);
    chmodSync(silent, 0o755);
    const { ref } = await startModule({ sidecar: { binaryPath: silent, startTimeout: 500 } });
    const started = Date.now();
    await assert.rejects(ref.init(), (err: unknown) => err instanceof XemsSidecarError && err.code === 'SIDECAR_START_TIMEOUT');
    assert.ok(Date.now() - started < 3000);
    await waitForExit(Number(readFileSync(pidFile, 'utf8')), 1000);
    await closeAfterFailedInit(ref);
  });

  it('reports a sidecar that exits during start-up with its last log lines', async () => {
    const crash = fakeBinary(
      'crash',
      `process.stderr.write(JSON.stringify({ level: 'ERROR', msg: 'boom at start' }) + '\\n'); process.exit(3);`,
    );
    const { ref } = await startModule({ sidecar: { binaryPath: crash } });
    await assert.rejects(ref.init(), (err: unknown) => err instanceof XemsSidecarError && /code 3/.test(err.message));
    await closeAfterFailedInit(ref);
  });
});
