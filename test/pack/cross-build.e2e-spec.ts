// The six prebuilt sidecars: each platform tarball holds a binary for its OS and CPU (read from
// the ELF / Mach-O / PE header), static on Linux (one build for glibc and musl), code-signed on
// macOS, a console program on Windows; stamped with the package version and built without cgo
// and file paths; its SHA-256 is the one recorded in the main package; and building it again
// from another folder gives the same bytes (reproducible-build.e2e-spec: also from an empty cache).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executableFormat } from './support/executable-format';
import { buildPlatform, cleanEnv, mustRun, PLATFORMS, ROOT, type Packed, packedPackages, SuiteSetup } from './support/packages';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('prebuilt sidecars for six platforms', { timeout: 900_000 }, () => {
  let work: string;
  let packed: Packed;
  const binaries = new Map<string, Buffer>();
  let recorded: Record<string, { sha256: string }>;
  const setup = new SuiteSetup();
  const ready = () => setup.ready();

  before(() =>
    setup.run(() => {
      packed = packedPackages();
      work = mkdtempSync(join(tmpdir(), 'xems-cross-'));
      for (const [tag, p] of Object.entries(packed.platforms)) {
        mkdirSync(join(work, tag));
        mustRun('tar', ['-xzf', join(packed.dir, p.tarball), '-C', join(work, tag)], ROOT, cleanEnv(), 60_000);
        binaries.set(tag, readFileSync(join(work, tag, 'package', p.binary)));
      }
      mustRun('tar', ['-xzf', join(packed.dir, packed.main), '-C', work, 'package/sidecar/prebuilt.json'], ROOT, cleanEnv(), 60_000);
      recorded = (JSON.parse(readFileSync(join(work, 'package', 'sidecar', 'prebuilt.json'), 'utf8')) as { platforms: typeof recorded })
        .platforms;
    }),
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs exactly linux, darwin and win32 on x64 and arm64', () => {
    ready();
    assert.deepEqual(Object.keys(packed.platforms).sort(), [
      'darwin-arm64',
      'darwin-x64',
      'linux-arm64',
      'linux-x64',
      'win32-arm64',
      'win32-x64',
    ]);
    assert.deepEqual(PLATFORMS.map((p) => p.tag).sort(), Object.keys(packed.platforms).sort());
  });

  for (const platform of PLATFORMS) {
    it(`${platform.tag}: the executable format and CPU of its platform, and the SHA-256 recorded in the main package`, () => {
      ready();
      const binary = binaries.get(platform.tag)!;
      const format = executableFormat(binary);
      assert.equal(format.os, platform.os);
      assert.equal(format.cpu, platform.cpu);
      if (format.format === 'elf') assert.equal(format.interpreter, false, 'static: no dynamic loader, so no libc (glibc and musl alike)');
      if (format.format === 'macho' && format.cpu === 'arm64')
        assert.equal(format.codeSigned, true, 'ad-hoc signed (Apple silicon runs only signed code)');
      if (format.format === 'pe') assert.equal(format.consoleSubsystem, true, 'a console program: its stdin/stdout carry the protocol');
      assert.equal(sha256(binary), recorded[platform.tag].sha256);
      assert.equal(sha256(binary), packed.platforms[platform.tag].sha256);
    });
  }

  // -trimpath keeps -ldflags out of the recorded build settings, so the version is looked up in
  // the bytes here; the Linux binaries print it (pack.e2e-spec, qemu-arm64.e2e-spec).
  it('every binary is built without cgo, with -trimpath, for its GOOS/GOARCH, and carries the package version', () => {
    ready();
    for (const platform of PLATFORMS) {
      const file = join(work, platform.tag, 'package', packed.platforms[platform.tag].binary);
      const info = mustRun('go', ['version', '-m', file], ROOT, cleanEnv(), 30_000);
      for (const setting of ['-trimpath=true', 'CGO_ENABLED=0', `GOOS=${platform.goos}`, `GOARCH=${platform.goarch}`]) {
        assert.match(info, new RegExp(`\\tbuild\\t${setting}\\n`), `${platform.tag}: ${setting}\n${info}`);
      }
      assert.ok(binaries.get(platform.tag)!.includes(Buffer.from(`${packed.version}`)), `${platform.tag} contains ${packed.version}`);
    }
  });

  it('is reproducible: rebuilt from another folder, every binary has the same bytes', () => {
    ready();
    const copy = join(work, 'elsewhere', 'sidecar');
    cpSync(join(ROOT, 'sidecar'), copy, { recursive: true, filter: (src) => !src.includes(join('sidecar', 'bin')) });
    for (const platform of PLATFORMS) {
      const output = join(work, 'rebuilt', platform.tag, platform.binary);
      buildPlatform(platform, output, { version: packed.version, dir: copy, env: cleanEnv() });
      assert.ok(readFileSync(output).equals(binaries.get(platform.tag)!), `${platform.tag}: the rebuilt binary differs`);
    }
  });
});
