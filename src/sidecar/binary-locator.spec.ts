import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XemsSidecarError } from '../xems.errors';
import { binaryFileName, locateSidecarBinary, packageRoot, platformTag } from './binary-locator';

function fakePackage(withBinary: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'xems-locator-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'nestjs-xems' }));
  if (withBinary) {
    const dir = join(root, 'sidecar', 'bin', platformTag());
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, binaryFileName()), '#!/bin/sh\n');
    chmodSync(join(dir, binaryFileName()), 0o755);
  }
  return root;
}

function executable(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('locateSidecarBinary', () => {
  it('prefers options.sidecar.binaryPath, then XEMS_SIDECAR_PATH, then the package binary', () => {
    const root = fakePackage(true);
    try {
      const a = executable(root, 'a');
      const b = executable(root, 'b');
      assert.equal(locateSidecarBinary(a, { XEMS_SIDECAR_PATH: b }, root), a);
      assert.equal(locateSidecarBinary(undefined, { XEMS_SIDECAR_PATH: b }, root), b);
      assert.equal(locateSidecarBinary(undefined, {}, root), join(root, 'sidecar', 'bin', platformTag(), binaryFileName()));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails with XemsSidecarError naming the path and how to build it', () => {
    const root = fakePackage(false);
    try {
      assert.throws(() => locateSidecarBinary(undefined, {}, root), (err: unknown) => {
        assert.ok(err instanceof XemsSidecarError);
        assert.equal(err.code, 'SIDECAR_NOT_FOUND');
        assert.match(err.message, new RegExp(platformTag()));
        assert.match(err.hint, /npm run build:sidecar/);
        assert.match(err.hint, /npx nestjs-xems build-sidecar/);
        return true;
      });
      // An explicit path that does not exist is an error, not a silent fallback.
      assert.throws(() => locateSidecarBinary(join(root, 'nope'), {}, root), /sidecar\.binaryPath/);
      assert.throws(() => locateSidecarBinary(undefined, { XEMS_SIDECAR_PATH: join(root, 'nope') }, root), /XEMS_SIDECAR_PATH/);
      const notExecutable = join(root, 'plain');
      writeFileSync(notExecutable, 'x');
      assert.throws(() => locateSidecarBinary(notExecutable, {}, root), /not executable/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds the package root from the compiled file (build/src/sidecar or dist/sidecar)', () => {
    const root = packageRoot(__dirname);
    assert.ok(root);
    assert.equal((require(join(root, 'package.json')) as { name: string }).name, 'nestjs-xems');
  });
});
