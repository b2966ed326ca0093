// The linux-arm64 sidecar of its platform package, run under QEMU user-mode emulation (Debian's
// qemu-user-static, which .ci/run installs): the real handshake (HELLO and CONFIGURE, version
// check included), then a session is created, resolved, rotated and revoked through XemsService.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executableFormat } from './support/executable-format';
import { cleanEnv, mustRun, ROOT, type Packed, packedPackages, SuiteSetup } from './support/packages';
import { createTestApp, type TestApp } from '../support/xems-test-app';
import { XEMS_DEFAULTS } from '../../src';

const QEMU = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((path) => existsSync(path));
// Outside CI a machine without QEMU skips; CI installs it, so there a missing QEMU fails.
const skip = QEMU === undefined && !process.env.CI ? 'QEMU user-mode emulation (qemu-aarch64) is not installed' : false;

describe('linux-arm64 sidecar under QEMU', { timeout: 300_000, skip }, () => {
  let work: string;
  let packed: Packed;
  let binary: string;
  let app: TestApp | undefined;
  const setup = new SuiteSetup();
  const ready = () => setup.ready();

  before(() =>
    setup.run(() => {
      assert.ok(QEMU, 'qemu-aarch64-static or qemu-aarch64 is installed (apt-get install qemu-user-static)');
      packed = packedPackages();
      work = mkdtempSync(join(tmpdir(), 'xems-qemu-'));
      const p = packed.platforms['linux-arm64'];
      mkdirSync(join(work, 'pkg'));
      mustRun('tar', ['-xzf', join(packed.dir, p.tarball), '-C', join(work, 'pkg')], ROOT, cleanEnv(), 60_000);
      binary = join(work, 'pkg', 'package', p.binary);
      assert.equal(executableFormat(readFileSync(binary)).cpu, 'arm64');
    }),
  );

  after(async () => {
    await app?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('reports its stamped version', () => {
    ready();
    const out = spawnSync(QEMU!, [binary, '--version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^${packed.version.replace(/\./g, '\\.')}\\+go1\\.\\d+`));
  });

  it('handshakes with the module, then creates, resolves, rotates and revokes a session', async () => {
    ready();
    // The module spawns a binary path; this one runs the arm64 binary through QEMU.
    const wrapper = join(work, 'xems-sidecar-arm64');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU} ${binary} "$@"\n`);
    chmodSync(wrapper, 0o755);
    app = await createTestApp({ sidecar: { binaryPath: wrapper, startTimeout: '60s', requestTimeout: '20s' } });
    const token = await app.xems.createSession(XEMS_DEFAULTS.sandbox, { user: 'arm' }, { userId: 'u-arm' });
    const resolved = await app.xems.resolveSession<{ user: string }>(token);
    assert.deepEqual(resolved?.data, { user: 'arm' });
    assert.equal(resolved?.rotated, false);

    const rotated = await app.xems.resolveSession<{ user: string }>(token, { rotate: true });
    assert.ok(rotated?.rotated, 'the token rotated');
    assert.notEqual(rotated.token, token);
    assert.deepEqual((await app.xems.resolveSession<{ user: string }>(rotated.token))?.data, { user: 'arm' });

    assert.equal(await app.xems.revokeSession(rotated.token), true);
    assert.equal(await app.xems.resolveSession(rotated.token), null);
  });
});
