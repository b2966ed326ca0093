import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XemsSidecarChecksumError, XemsSidecarError } from '../xems.errors';
import { binaryFileName, locateSidecarBinary, packageRoot, platformTag, PREBUILT_MANIFEST } from './binary-locator';

const SCRIPT = '#!/bin/sh\n';
const PLATFORM_PACKAGE = `@nestjs-xems/sidecar-${platformTag()}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function executable(path: string, content = SCRIPT): string {
  writeFileSync(path, content);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A fake installed app: node_modules/nestjs-xems (optionally with a packed prebuilt.json and a
 * binary built by build-sidecar) and optionally the platform package beside it, as npm hoists it.
 */
function fakeInstall(o: { manifest?: boolean; platformPackage?: boolean; built?: boolean; recorded?: string } = {}) {
  const app = mkdtempSync(join(tmpdir(), 'xems-locator-'));
  const root = join(app, 'node_modules', 'nestjs-xems');
  mkdirSync(join(root, 'sidecar'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'nestjs-xems', version: '9.9.9' }));
  if (o.manifest ?? true) {
    const entry = { package: PLATFORM_PACKAGE, binary: `bin/${binaryFileName()}`, sha256: o.recorded ?? sha256(SCRIPT) };
    writeFileSync(join(root, PREBUILT_MANIFEST), JSON.stringify({ version: '9.9.9', platforms: { [platformTag()]: entry, 'plan9-mips': entry } }));
  }
  const platformDir = join(app, 'node_modules', ...PLATFORM_PACKAGE.split('/'));
  if (o.platformPackage ?? true) {
    mkdirSync(join(platformDir, 'bin'), { recursive: true });
    writeFileSync(join(platformDir, 'package.json'), JSON.stringify({ name: PLATFORM_PACKAGE, version: '9.9.9' }));
    executable(join(platformDir, 'bin', binaryFileName()));
  }
  if (o.built) {
    mkdirSync(join(root, 'sidecar', 'bin', platformTag()), { recursive: true });
    executable(join(root, 'sidecar', 'bin', platformTag(), binaryFileName()));
  }
  return { app, root, prebuilt: join(platformDir, 'bin', binaryFileName()), built: join(root, 'sidecar', 'bin', platformTag(), binaryFileName()) };
}

function withInstall(o: Parameters<typeof fakeInstall>[0], test: (install: ReturnType<typeof fakeInstall>) => void): void {
  const install = fakeInstall(o);
  try {
    test(install);
  } finally {
    rmSync(install.app, { recursive: true, force: true });
  }
}

function notFound(pattern: RegExp, hint: (hint: string) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof XemsSidecarError);
    assert.equal(err.code, 'SIDECAR_NOT_FOUND');
    assert.match(err.message, pattern);
    hint(err.hint);
    return true;
  };
}

describe('locateSidecarBinary', () => {
  it('prefers sidecar.binaryPath, then XEMS_SIDECAR_PATH, then a binary built here, then the platform package', () => {
    withInstall({ built: true }, ({ app, root, prebuilt, built }) => {
      const a = executable(join(app, 'a'), 'not the recorded bytes: overrides are not checked');
      const b = executable(join(app, 'b'));
      assert.equal(locateSidecarBinary(a, { XEMS_SIDECAR_PATH: b }, root), a);
      assert.equal(locateSidecarBinary(undefined, { XEMS_SIDECAR_PATH: b }, root), b);
      assert.equal(locateSidecarBinary(undefined, {}, root), built);
      rmSync(built);
      assert.equal(locateSidecarBinary(undefined, {}, root), prebuilt);
    });
  });

  it('resolves the platform package where npm nests it, inside nestjs-xems/node_modules', () => {
    withInstall({ platformPackage: false }, ({ root }) => {
      const nested = join(root, 'node_modules', ...PLATFORM_PACKAGE.split('/'));
      mkdirSync(join(nested, 'bin'), { recursive: true });
      writeFileSync(join(nested, 'package.json'), JSON.stringify({ name: PLATFORM_PACKAGE }));
      executable(join(nested, 'bin', binaryFileName()));
      assert.equal(locateSidecarBinary(undefined, {}, root), join(nested, 'bin', binaryFileName()));
    });
  });

  it('refuses a prebuilt binary whose SHA-256 differs from the recorded one, naming the file and both hashes', () => {
    withInstall({ recorded: sha256('the bytes that were packed') }, ({ root, prebuilt }) => {
      assert.throws(() => locateSidecarBinary(undefined, {}, root), (err: unknown) => {
        assert.ok(err instanceof XemsSidecarChecksumError);
        assert.ok(err instanceof XemsSidecarError);
        assert.equal(err.code, 'SIDECAR_CHECKSUM_MISMATCH');
        assert.ok(err.message.includes(prebuilt));
        assert.ok(err.message.includes(sha256('the bytes that were packed')));
        assert.ok(err.message.includes(sha256(SCRIPT)));
        assert.equal(err.actual, sha256(SCRIPT));
        assert.match(err.hint, /binaryPath/);
        return true;
      });
    });
  });

  it('without the platform package: names it (with its version) first, then build-sidecar, then the override', () => {
    withInstall({ platformPackage: false }, ({ root }) => {
      assert.throws(
        () => locateSidecarBinary(undefined, {}, root),
        notFound(new RegExp(`${PLATFORM_PACKAGE} is not installed.*--omit=optional`), (hint) => {
          const order = [`npm install ${PLATFORM_PACKAGE}@9.9.9`, 'npx nestjs-xems build-sidecar', 'sidecar.binaryPath'].map((s) => hint.indexOf(s));
          assert.ok(order.every((at) => at >= 0) && order[0] < order[1] && order[1] < order[2], hint);
          assert.doesNotMatch(hint, /npm run build:sidecar/, 'no command that only works in the repository');
        }),
      );
    });
  });

  it('a platform without a prebuilt binary, or a checkout never built: build-sidecar first, then the override', () => {
    withInstall({ manifest: false, platformPackage: false }, ({ root }) => {
      assert.throws(
        () => locateSidecarBinary(undefined, {}, root),
        notFound(new RegExp(`No xems sidecar binary for ${platformTag()}`), (hint) => {
          assert.ok(hint.indexOf('npx nestjs-xems build-sidecar') < hint.indexOf('XEMS_SIDECAR_PATH'), hint);
        }),
      );
    });
  });

  it('a platform the package has no prebuilt binary for: names the ones it has, then build-sidecar', () => {
    withInstall({ platformPackage: false }, ({ root }) => {
      const manifest = join(root, PREBUILT_MANIFEST);
      const entry = { package: '@nestjs-xems/sidecar-plan9-mips', binary: 'bin/xems-sidecar', sha256: sha256(SCRIPT) };
      writeFileSync(manifest, JSON.stringify({ version: '9.9.9', platforms: { 'plan9-mips': entry } }));
      assert.throws(
        () => locateSidecarBinary(undefined, {}, root),
        notFound(new RegExp(`No xems sidecar binary for ${platformTag()} \\(prebuilt binaries exist for plan9-mips\\)`), (hint) => {
          assert.match(hint, /^Build one with "npx nestjs-xems build-sidecar"/);
        }),
      );
    });
  });

  it('an explicit path that is missing or not executable is an error, not a fallback', () => {
    withInstall({}, ({ app, root }) => {
      assert.throws(() => locateSidecarBinary(join(app, 'nope'), {}, root), /sidecar\.binaryPath/);
      assert.throws(() => locateSidecarBinary(undefined, { XEMS_SIDECAR_PATH: join(app, 'nope') }, root), /XEMS_SIDECAR_PATH/);
      writeFileSync(join(app, 'plain'), 'x');
      assert.throws(() => locateSidecarBinary(join(app, 'plain'), {}, root), /not executable/);
    });
  });

  it('finds the package root from the compiled file (build/src/sidecar or dist/sidecar)', () => {
    const root = packageRoot(__dirname);
    assert.ok(root);
    assert.equal((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string }).name, 'nestjs-xems');
  });
});
