import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { BodyReader } from '../sidecar/frame-codec';
import { ErrorCode, Op, sidecarError } from '../sidecar/protocol';
import type { XemsModuleOptions } from '../xems.options';
import { resolveXemsOptions } from '../xems.resolved-options';
import { XemsModule } from '../xems.module';
import { XemsConfigError, XemsUnavailableError, isSidecarUnavailable } from '../xems.errors';
import { storeConfigure } from './store.options';

const SECRET = 'hex:9f1c2b7e4a6d8053c1e2f3a4b5c6d7e8091a2b3c4d5e6f708192a3b4c5d6e7f8';
const redis = { type: 'redis' as const, url: 'redis://:hunter2@cache.internal:6379/2' };
const valid: XemsModuleOptions = { store: redis, persistence: { secret: SECRET }, hardwareBinding: { id: 'shop-prod' } };

function refuses(options: XemsModuleOptions, field: string, problem: RegExp): void {
  let caught: unknown;
  try {
    resolveXemsOptions(options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof XemsConfigError, `expected XemsConfigError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.match(caught.message, problem);
  assert.ok(caught.hint.length > 10);
  assert.ok(!caught.message.includes('hunter2') && !caught.hint.includes('hunter2'), 'a URL (with its password) is never echoed');
  assert.ok(!caught.message.includes(SECRET.slice(4)), 'the secret is never echoed');
}

describe('the store option', () => {
  it('defaults to memory', () => {
    assert.deepEqual(resolveXemsOptions({}).store, { type: 'memory' });
    assert.deepEqual(resolveXemsOptions({ store: { type: 'memory' } }).store, { type: 'memory' });
  });

  it('resolves a Redis server and a Redis Cluster with the shared secret and the deployment id', () => {
    const one = resolveXemsOptions(valid).store;
    assert.equal(one.type, 'redis');
    if (one.type !== 'redis') return;
    assert.equal(one.url, redis.url);
    assert.equal(one.keyPrefix, 'xems:');
    assert.equal(one.timeoutMs, 1000);
    assert.equal(one.identity?.toString(), 'shop-prod');
    assert.equal(inspect(one).includes('9f1c2b7e'), false, 'the secret never prints');
    const cluster = resolveXemsOptions({
      ...valid,
      store: { type: 'redis', cluster: ['redis://n1:7000', 'rediss://n2:7000/0'], keyPrefix: 'shop:', timeout: '250ms' },
      hardwareBinding: false,
    }).store;
    assert.ok(cluster.type === 'redis');
    assert.deepEqual(cluster.cluster, ['redis://n1:7000', 'rediss://n2:7000/0']);
    assert.equal(cluster.keyPrefix, 'shop:');
    assert.equal(cluster.timeoutMs, 250);
    assert.equal(cluster.identity, null);
  });

  it('refuses what cannot work, each with its reason', () => {
    const cases: Array<[XemsModuleOptions, string, RegExp]> = [
      [{ store: 'redis' as never }, 'store', /must be an object/],
      [{ store: { type: 'etcd' } as never }, 'store.type', /'memory' or 'redis'/],
      // A mistyped type beside the shared secret is named as such (not as persistence.enabled missing).
      [{ ...valid, store: { type: 'Redis', url: 'redis://a:1' } as never }, 'store.type', /'memory' or 'redis', got "Redis"/],
      [{ store: { type: 'memory', url: 'redis://x:1' } as never }, 'store.url', /not a known option of a memory store/],
      [{ ...valid, store: { type: 'redis', host: 'x' } as never }, 'store.host', /not a known option/],
      [{ ...valid, store: { type: 'redis' } as never }, 'store', /exactly one of url/],
      [{ ...valid, store: { type: 'redis', url: 'redis://a:1', cluster: ['redis://b:1'] } as never }, 'store', /exactly one of url/],
      [{ ...valid, store: { type: 'redis', url: 'http://:hunter2@a:1' } }, 'store.url', /redis:\/\/ or rediss:\/\//],
      [{ ...valid, store: { type: 'redis', url: 'not a url hunter2' } }, 'store.url', /redis:\/\/ or rediss:\/\//],
      [{ ...valid, store: { type: 'redis', cluster: [] } }, 'store.cluster', /non-empty array/],
      [{ ...valid, store: { type: 'redis', cluster: ['redis://:hunter2@a:1/3'] } }, 'store.cluster[0]', /database 0/],
      [{ ...valid, store: { ...redis, keyPrefix: '{app}' } }, 'store.keyPrefix', /no braces/],
      [{ ...valid, store: { ...redis, timeout: '5ms' } }, 'store.timeout', /between 10 ms and 60 s/],
      [{ ...valid, store: { ...redis, timeout: '3s' } }, 'store.timeout', /shorter than sidecar.requestTimeout \(2000 ms\)/],
      [{ ...valid, persistence: { secret: SECRET, enabled: true, path: '/tmp/x' } }, 'persistence.enabled', /Redis keeps the records/],
      [{ ...valid, persistence: undefined }, 'persistence.secret', /required with store type 'redis'/],
      [{ ...valid, persistence: { secret: 'a'.repeat(32) } }, 'persistence.secret', /one character repeated/],
      [{ ...valid, hardwareBinding: true }, 'hardwareBinding', /is true, which binds the key to this machine/],
      [{ ...valid, hardwareBinding: undefined }, 'hardwareBinding', /defaults to true/],
      [{ ...valid, hardwareBinding: { id: ' ' } }, 'hardwareBinding', /non-empty/],
    ];
    for (const [options, field, problem] of cases) refuses(options, field, problem);
  });

  it('types url as string | undefined (the README snippet compiles under strict) and refuses undefined at start, naming store.url', () => {
    // Compile test: `url: process.env.REDIS_URL` (string | undefined) is a valid store option.
    const fromEnv: XemsModuleOptions = { ...valid, store: { type: 'redis', url: process.env.XEMS_TEST_UNSET_REDIS_URL } };
    assert.ok(XemsModule.forRoot({ isGlobal: true, store: { type: 'redis', url: process.env.XEMS_TEST_UNSET_REDIS_URL } }));
    refuses(fromEnv, 'store.url', /is undefined/);
  });

  it('refuses a Redis URL without a host, with an empty or out-of-range port, naming the field', () => {
    const url = (u: string): XemsModuleOptions => ({ ...valid, store: { type: 'redis', url: u } });
    refuses(url('redis://:hunter2@127.0.0.1:'), 'store.url', /empty or invalid port/);
    for (const port of ['0', '65536', '70000', 'x1', '-1', '6379x'])
      refuses(url(`redis://:hunter2@h:${port}`), 'store.url', /empty or invalid port/);
    refuses(url('redis://:hunter2@:6379'), 'store.url', /with a host/);
    refuses(url('redis://'), 'store.url', /with a host/);
    refuses(
      { ...valid, store: { type: 'redis', cluster: ['redis://n1:7000', 'redis://:hunter2@n2:'] } },
      'store.cluster[1]',
      /empty or invalid port/,
    );
    for (const good of [
      'redis://h',
      'redis://h:1',
      'redis://:hunter2@h:65535/2',
      'rediss://h:6380',
      'redis://[::1]:6379',
      'redis://user:pw@[2001:db8::1]',
    ]) {
      assert.equal((resolveXemsOptions(url(good)).store as { url?: string }).url, good);
    }
  });

  it('refuses persistence.path with store type redis (there is no local vault: it would be ignored)', () => {
    refuses(
      { ...valid, persistence: { secret: SECRET, path: '/tmp/vault-hunter2' } },
      'persistence.path',
      /not used with store type 'redis'/,
    );
  });

  it('sends the URL in configJson and the secret and identity only as CONFIGURE secrets', () => {
    const store = resolveXemsOptions(valid).store;
    assert.ok(store.type === 'redis');
    const { config, secrets } = storeConfigure(store);
    assert.deepEqual(config, { type: 'redis', url: redis.url, cluster: undefined, keyPrefix: 'xems:', timeoutMs: 1000 });
    assert.deepEqual(
      secrets.map(([name, value]) => [name, value.length]),
      [
        ['storeSecret', 32],
        ['storeIdentity', 9],
      ],
    );
    assert.equal(JSON.stringify(config).includes('9f1c2b7e'), false);
    assert.deepEqual(
      storeConfigure({ ...store, identity: null }).secrets.map(([n]) => n),
      ['storeSecret'],
    );
  });

  it('maps the store error codes: UNAVAILABLE is a 503, a wrong secret or identity a configuration error', () => {
    const reply = (code: number, message: string) => {
      const m = Buffer.from(message);
      const b = Buffer.alloc(4 + m.length);
      b.writeUInt16LE(code, 0);
      b.writeUInt16LE(m.length, 2);
      m.copy(b, 4);
      return new BodyReader(b);
    };
    const down = sidecarError(Op.S_RESOLVE, reply(ErrorCode.UNAVAILABLE, 'Redis cannot answer (timed out); retry shortly'));
    assert.ok(down instanceof XemsUnavailableError && isSidecarUnavailable(down), String(down));
    const secret = sidecarError(Op.CONFIGURE, reply(ErrorCode.STORE_WRONG_SECRET, 'written with another shared secret'));
    assert.ok(secret instanceof XemsConfigError && secret.field === 'persistence.secret');
    const identity = sidecarError(Op.CONFIGURE, reply(ErrorCode.STORE_WRONG_IDENTITY, 'written with another hardwareBinding id'));
    assert.ok(identity instanceof XemsConfigError && identity.field === 'hardwareBinding');
  });
});
