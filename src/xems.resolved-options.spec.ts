import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusesOptions as refuses } from '../test/support/config-errors';
import { resolveXemsOptions } from './xems.resolved-options';
import { asyncContextIsCheap } from './xems.context';

describe('resolveXemsOptions', () => {
  it('applies every default', () => {
    const o = resolveXemsOptions(undefined);
    assert.deepEqual(o, {
      sandbox: 'xems.session',
      ttl: 3_600_000,
      autoRotation: true,
      gracePeriod: 2000,
      cookie: { name: 'xems_token', path: '/', domain: undefined, secure: true, sameSite: 'strict', httpOnly: true },
      header: 'x-xems-token',
      idleTimeout: false,
      maxSessionsPerUser: 0,
      onLimit: 'evict-oldest',
      binding: { ip: 'off', userAgent: false, onMismatch: 'revoke' },
      deviceBound: false,
      csrf: { header: 'x-csrf-token', field: '_csrf', origins: undefined },
      expressHelpers: false,
      passport: false,
      requestContext: true,
      persistence: { enabled: false, path: undefined },
      store: { type: 'memory' },
      sidecar: {
        binaryPath: undefined,
        startTimeout: 5000,
        requestTimeout: 2000,
        shutdownTimeout: 3000,
        maxInFlight: 10000,
        maxRestarts: 10,
      },
      telemetry: { enabled: 'auto', metrics: true, tracing: true, meterProvider: undefined, tracerProvider: undefined },
      freshAuthMaxAge: 600_000,
      reauthentication: { maxAgeMs: 0 },
    });
    assert.deepEqual(resolveXemsOptions({}), o);
  });

  it('accepts every option and converts durations', () => {
    const o = resolveXemsOptions({
      sandbox: 'app:sessions-1',
      ttl: '2d',
      autoRotation: '30s',
      gracePeriod: '5s',
      cookie: { name: '__Host-sid', path: '/', secure: true, sameSite: 'lax' },
      header: 'X-Session-Token',
      persistence: { enabled: false, secret: 'x'.repeat(40), path: '/tmp/vault' },
      sidecar: { binaryPath: '/opt/xems', startTimeout: '10s', requestTimeout: 500, shutdownTimeout: '1s', maxInFlight: 5, maxRestarts: 0 },
    });
    assert.equal(o.sandbox, 'app:sessions-1');
    assert.equal(o.ttl, 2 * 86_400_000);
    assert.equal(o.autoRotation, 30_000, 'a duration: rotate at most every 30 s');
    assert.equal(o.gracePeriod, 5000);
    assert.deepEqual(o.cookie, { name: '__Host-sid', path: '/', domain: undefined, secure: true, sameSite: 'lax', httpOnly: true });
    assert.equal(o.header, 'x-session-token');
    assert.deepEqual(o.sidecar, {
      binaryPath: '/opt/xems',
      startTimeout: 10_000,
      requestTimeout: 500,
      shutdownTimeout: 1000,
      maxInFlight: 5,
      maxRestarts: 0,
    });
  });

  it('autoRotation false never rotates; true rotates on every request; a duration at most that often (the guard policy: session.guard.spec.ts)', () => {
    assert.equal(resolveXemsOptions({ autoRotation: false }).autoRotation, false);
    assert.equal(resolveXemsOptions({ autoRotation: true }).autoRotation, true);
    assert.equal(resolveXemsOptions({ autoRotation: 1500 }).autoRotation, 1500);
    assert.equal(resolveXemsOptions({ autoRotation: '2s' }).autoRotation, 2000);
  });

  it('turns the cookie or the header off, but not both', () => {
    assert.equal(resolveXemsOptions({ cookie: false }).cookie, false);
    assert.equal(resolveXemsOptions({ header: false }).header, false);
    refuses({ cookie: false, header: false }, 'cookie', /no way to reach the client/);
  });

  it('caps a TTL above 5 days to 5 days with exactly one warning', () => {
    const warnings: string[] = [];
    const o = resolveXemsOptions({ ttl: '30d' }, { warn: (m) => warnings.push(m) });
    assert.equal(o.ttl, 432_000_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /capped to 5 days/);
    const exact: string[] = [];
    assert.equal(resolveXemsOptions({ ttl: '5d' }, { warn: (m) => exact.push(m) }).ttl, 432_000_000);
    assert.equal(exact.length, 0);
  });

  it('refuses bad TTLs', () => {
    for (const ttl of ['1 hour', '1.5h', -5, 0, '0s', 'abc', '', true, 1.5]) refuses({ ttl }, 'ttl');
  });

  it('refuses a grace period above 60 s or malformed', () => {
    assert.equal(resolveXemsOptions({ gracePeriod: '60s' }).gracePeriod, 60_000);
    assert.equal(resolveXemsOptions({ gracePeriod: 0 }).gracePeriod, 0);
    refuses({ gracePeriod: '61s' }, 'gracePeriod', /outside 0\.\.60000/);
    refuses({ gracePeriod: 60_001 }, 'gracePeriod');
    refuses({ gracePeriod: '2 s' }, 'gracePeriod', /not a duration/);
  });

  it('refuses bad autoRotation values', () => {
    refuses({ autoRotation: 'sometimes' }, 'autoRotation');
    refuses({ autoRotation: -1 }, 'autoRotation');
    refuses({ autoRotation: '1x' }, 'autoRotation');
  });

  it('refuses cookie names, paths and domains with ; , = spaces or control characters', () => {
    for (const name of ['a;b', 'a,b', 'a=b', 'a b', 'a\tb', 'a\u0000b', 'a\nb', '', 'é']) {
      refuses({ cookie: { name } }, 'cookie.name');
    }
    for (const path of ['/a;b', '/a,b', '/a=b', '/a b', '/a\u0001', 'relative', '/ä']) {
      refuses({ cookie: { path } }, 'cookie.path');
    }
    for (const domain of ['a;b.com', 'a,b.com', 'a=b.com', 'a b.com', 'exa\u0007mple.com', 'https://example.com', 'example.com:80']) {
      refuses({ cookie: { domain } }, 'cookie.domain');
    }
    assert.deepEqual(resolveXemsOptions({ cookie: { domain: 'example.com', path: '/app' } }).cookie, {
      name: 'xems_token',
      path: '/app',
      domain: 'example.com',
      secure: true,
      sameSite: 'strict',
      httpOnly: true,
    });
  });

  it('keeps cookies HttpOnly and SameSite=None secure', () => {
    refuses({ cookie: { httpOnly: false } }, 'cookie.httpOnly', /always HttpOnly/);
    refuses({ cookie: { sameSite: 'none', secure: false } }, 'cookie.sameSite');
    refuses({ cookie: { sameSite: 'Strict' } }, 'cookie.sameSite');
    refuses({ cookie: { secure: 'yes' } }, 'cookie.secure');
    refuses({ cookie: { name: '__Host-x', path: '/app' } }, 'cookie.name', /__Host-/);
    refuses({ cookie: 'xems' }, 'cookie', /must be an object/);
  });

  it('refuses bad header names and sandboxes', () => {
    refuses({ header: 'x token' }, 'header');
    refuses({ header: 'x:token' }, 'header');
    refuses({ header: true }, 'header');
    refuses({ sandbox: 'a b' }, 'sandbox');
    refuses({ sandbox: 'x'.repeat(65) }, 'sandbox');
    refuses({ sandbox: 42 }, 'sandbox');
  });

  it("refuses a requestContext other than 'auto', true or false; 'auto' follows the cost of AsyncLocalStorage here", () => {
    refuses({ requestContext: 'yes' }, 'requestContext', /'auto', true or false/);
    assert.equal(resolveXemsOptions({ requestContext: false }).requestContext, false);
    assert.equal(resolveXemsOptions({ requestContext: true }).requestContext, true);
    assert.equal(resolveXemsOptions({ requestContext: 'auto' }).requestContext, asyncContextIsCheap());
    assert.equal(resolveXemsOptions({}).requestContext, true, 'on by default, on every Node version');
  });

  it('AsyncLocalStorage counts as cheap on AsyncContextFrame only: Node 24+, or 22-23 with its flag', () => {
    assert.equal(asyncContextIsCheap('20.19.0', []), false);
    assert.equal(asyncContextIsCheap('22.12.0', []), false);
    assert.equal(asyncContextIsCheap('22.12.0', ['--experimental-async-context-frame']), true);
    assert.equal(asyncContextIsCheap('20.19.0', ['--experimental-async-context-frame']), false);
    assert.equal(asyncContextIsCheap('24.0.0', []), true);
    assert.equal(asyncContextIsCheap('26.1.0', ['--no-async-context-frame']), false);
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) assert.equal(asyncContextIsCheap(), false, 'this process: hooks-based');
  });

  it('refuses bad sidecar options', () => {
    refuses({ sidecar: { maxInFlight: 0 } }, 'sidecar.maxInFlight', /at least 1/);
    refuses({ sidecar: { maxInFlight: 1.5 } }, 'sidecar.maxInFlight', /integer/);
    refuses({ sidecar: { maxRestarts: -1 } }, 'sidecar.maxRestarts');
    refuses({ sidecar: { requestTimeout: '0s' } }, 'sidecar.requestTimeout');
    refuses({ sidecar: { startTimeout: 'soon' } }, 'sidecar.startTimeout');
    refuses({ sidecar: { binaryPath: 42 } }, 'sidecar.binaryPath');
    refuses({ sidecar: 5 }, 'sidecar', /must be an object/);
  });

  it('refuses unknown options, naming them', () => {
    refuses({ tll: '1h' }, 'tll', /not a known option/);
    refuses({ cookie: { nmae: 'x' } }, 'cookie.nmae', /not a known option/);
    refuses({ sidecar: { timeout: 5 } }, 'sidecar.timeout', /not a known option/);
  });

  it('checks persistence only when it is enabled (details: src/persistence/persistence.options.spec.ts)', () => {
    assert.equal(resolveXemsOptions({ persistence: { enabled: false, path: '/x' } }).persistence.enabled, false);
    refuses({ persistence: { enabled: true, path: '/v', secret: 's1'.repeat(20) } }, 'persistence.secret', /40 characters long/);
    refuses({ persistence: { enabled: 'yes' } }, 'persistence.enabled');
    refuses(
      { persistence: { enabled: true, path: '/v', secret: 'x'.repeat(32) }, hardwareBinding: { id: 'a' } },
      'persistence.secret',
      /one character repeated/,
    );
  });

  it('never echoes the persistence secret in an error', () => {
    const secret = 1234567890123456;
    const err = refuses({ persistence: { enabled: true, path: '/v', secret } }, 'persistence.secret', /got number/);
    assert.doesNotMatch(err.message, /1234567890/);
    const text = 'Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3$Qm7#';
    assert.doesNotMatch(refuses({ persistence: { enabled: true, path: '/v', secret: text } }, 'persistence.secret').message, /Qm7#vR2k/);
  });

  it('refuses a non-object', () => {
    refuses('fast', '(options)');
    refuses([1], '(options)');
    refuses(JSON.parse('{"__proto__": {"ttl": 1}}'), '__proto__', /not a known option/);
  });
});
