import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MachineIdentityProblem, resolveMachineIdentity } from './machine-identity';

/** A fake file system: path -> content (absent: ENOENT). */
function files(map: Record<string, string>) {
  return (path: string): string => {
    if (!(path in map)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return map[path];
  };
}

describe('resolveMachineIdentity', () => {
  it('false: unbound', () => {
    assert.equal(resolveMachineIdentity(false, files({})), null);
  });

  it('true: /etc/machine-id, trimmed', () => {
    const id = resolveMachineIdentity(true, files({ '/etc/machine-id': 'abc123\n', '/var/lib/dbus/machine-id': 'other' }));
    assert.deepEqual(id, { id: Buffer.from('abc123'), source: '/etc/machine-id' });
  });

  it('true: falls back to /var/lib/dbus/machine-id when /etc/machine-id is missing, empty or uninitialized', () => {
    for (const etc of [undefined, '', '\n', 'uninitialized\n']) {
      const fs: Record<string, string> = { '/var/lib/dbus/machine-id': 'dbus-id\n' };
      if (etc !== undefined) fs['/etc/machine-id'] = etc;
      assert.deepEqual(resolveMachineIdentity(true, files(fs)), { id: Buffer.from('dbus-id'), source: '/var/lib/dbus/machine-id' });
    }
  });

  it('true without any machine id: a problem that names both files', () => {
    assert.throws(() => resolveMachineIdentity(true, files({})), (err: Error) => {
      assert.ok(err instanceof MachineIdentityProblem);
      assert.match(err.message, /\/etc\/machine-id nor \/var\/lib\/dbus\/machine-id/);
      return true;
    });
  });

  it('{ id }: that identity, never a file', () => {
    assert.deepEqual(resolveMachineIdentity({ id: 'cluster-a' }, files({ '/etc/machine-id': 'x' })), { id: Buffer.from('cluster-a'), source: 'hardwareBinding.id' });
    assert.throws(() => resolveMachineIdentity({ id: '  ' }, files({})), MachineIdentityProblem);
    assert.throws(() => resolveMachineIdentity({ id: 'x'.repeat(1025) }, files({})), MachineIdentityProblem);
  });

  it('reads the real machine id on this host (Linux)', { skip: process.platform !== 'linux' }, () => {
    const id = resolveMachineIdentity(true);
    assert.ok(id && id.id.length > 0);
  });
});
