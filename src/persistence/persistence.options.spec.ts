import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { XemsConfigError } from '../xems.errors';
import type { XemsModuleOptions } from '../xems.options';
import { resolveXemsOptions } from '../xems.resolved-options';

const secret = `base64:${randomBytes(32).toString('base64')}`;
const machineId = (path: string): string => {
  if (path === '/etc/machine-id') return 'test-machine-id\n';
  throw new Error('ENOENT');
};
const noMachineId = (): string => {
  throw new Error('ENOENT');
};

function resolveWith(options: XemsModuleOptions, read = machineId) {
  return resolveXemsOptions(options, { readMachineId: read });
}

function refused(options: unknown, field: string, problem: RegExp, read = machineId): XemsConfigError {
  try {
    resolveWith(options as XemsModuleOptions, read);
  } catch (err) {
    assert.ok(err instanceof XemsConfigError, String(err));
    assert.equal(err.field, field);
    assert.match(err.message, problem);
    assert.ok(!err.message.includes(secret.slice(7)), 'the secret is not echoed');
    return err;
  }
  assert.fail(`expected ${field} to be refused`);
}

describe('persistence options', () => {
  it('enabled: resolves path, fsync, secret and the machine identity (bound by default)', () => {
    const o = resolveWith({ persistence: { enabled: true, secret, path: 'var/vault' } });
    assert.ok(o.persistence.enabled);
    if (!o.persistence.enabled) return;
    assert.equal(o.persistence.path, resolve('var/vault'));
    assert.equal(o.persistence.fsync, 'everysec');
    assert.deepEqual(o.persistence.secret.bytes(), Buffer.from(secret.slice(7), 'base64'));
    assert.deepEqual(o.persistence.binding, { id: Buffer.from('test-machine-id'), source: '/etc/machine-id' });
    assert.ok(
      !inspect(o, { depth: 5 }).includes(secret.slice(7)) && !JSON.stringify(o).includes(secret.slice(7)),
      'resolved options never print the secret',
    );
  });

  it('hardwareBinding { id } and false; fsync values', () => {
    const a = resolveWith(
      { persistence: { enabled: true, secret, path: '/v', fsync: 'always' }, hardwareBinding: { id: 'pod-identity' } },
      noMachineId,
    );
    assert.ok(a.persistence.enabled && a.persistence.fsync === 'always');
    assert.deepEqual(a.persistence.enabled && a.persistence.binding, { id: Buffer.from('pod-identity'), source: 'hardwareBinding.id' });
    const b = resolveWith({ persistence: { enabled: true, secret, path: '/v', fsync: 'no' }, hardwareBinding: false }, noMachineId);
    assert.ok(b.persistence.enabled && b.persistence.binding === null && b.persistence.fsync === 'no');
  });

  it('disabled: nothing is checked or read (the shape of the defaults is unchanged)', () => {
    const o = resolveWith({ persistence: { enabled: false, secret: 'short', path: '/x' } }, noMachineId);
    assert.deepEqual(o.persistence, { enabled: false, path: '/x' });
  });

  it('refuses a path or a secret without enabled (they would be ignored: sessions would live in memory only)', () => {
    for (const persistence of [{ path: '/v', secret }, { secret }, { path: '/v' }]) {
      const err = refused({ persistence }, 'persistence.enabled', /is not set/);
      assert.match(err.hint, /enabled: true/);
    }
    assert.deepEqual(
      resolveWith({ persistence: { enabled: false, path: '/v', secret } }).persistence,
      { enabled: false, path: '/v' },
      'off on purpose',
    );
    assert.deepEqual(
      resolveWith({ persistence: { fsync: 'always' } }).persistence,
      { enabled: false, path: undefined },
      'fsync alone changes nothing',
    );
  });

  it('refuses each problem with its own message', () => {
    refused({ persistence: { enabled: true, secret } }, 'persistence.path', /is required/);
    refused({ persistence: { enabled: true, path: '/v' } }, 'persistence.secret', /is required/);
    refused(
      { persistence: { enabled: true, path: '/v', secret: 'Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3' } },
      'persistence.secret',
      /31 characters long/,
    );
    refused(
      { persistence: { enabled: true, path: '/v', secret: 'Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3$X' } },
      'persistence.secret',
      /33 characters long/,
    );
    refused({ persistence: { enabled: true, path: '/v', secret: 'x'.repeat(32) } }, 'persistence.secret', /one character repeated/);
    refused(
      { persistence: { enabled: true, path: '/v', secret: 'secret12'.repeat(4) } },
      'persistence.secret',
      /repeats a pattern of 8 characters/,
    );
    refused(
      { persistence: { enabled: true, path: '/v', secret: 'fea3KzYWP8PaJGzduwfEYPvXQ6fhDTYs' } },
      'persistence.secret',
      /example secret printed/,
    );
    refused(
      { persistence: { enabled: true, path: '/v', secret, fsync: 'sometimes' } },
      'persistence.fsync',
      /'always', 'everysec' or 'no'/,
    );
    refused({ persistence: { enabled: true, path: '/v', secret } }, 'hardwareBinding', /no identity to bind the vault to/, noMachineId);
    refused(
      { persistence: { enabled: true, path: '/v', secret }, hardwareBinding: 'yes' },
      'hardwareBinding',
      /must be true, false or \{ id: string \}/,
    );
    refused(
      { persistence: { enabled: true, path: '/v', secret }, hardwareBinding: { id: 5 } },
      'hardwareBinding',
      /must be true, false or/,
    );
    refused({ persistence: { enabled: true, path: '/v', secret }, hardwareBinding: { id: ' ' } }, 'hardwareBinding', /non-empty string/);
    const err = refused({ persistence: { enabled: true, path: '/v', secret: 'aaaa' } }, 'persistence.secret', /4 characters long/);
    assert.match(err.hint, /npx nestjs-xems secret/);
  });
});
