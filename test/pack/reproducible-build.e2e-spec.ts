// Reproducible from scratch: the linux-x64 sidecar compiled again with an empty Go build cache
// (every package, the standard library included, compiled anew) in another folder gives the
// bytes of the packed one. Its own file: the cold compile takes a minute or two on 2 cores.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildPlatform, cleanEnv, mustRun, PLATFORMS, ROOT, packedPackages } from './support/packages';

describe('reproducible sidecar build', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'xems-repro-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('linux-x64 rebuilt with an empty build cache, from another folder, has the packed bytes', () => {
    const packed = packedPackages();
    const platform = PLATFORMS.find((p) => p.tag === 'linux-x64')!;
    mustRun('tar', ['-xzf', join(packed.dir, packed.platforms[platform.tag].tarball), '-C', work], ROOT, cleanEnv(), 60_000);
    const copy = join(work, 'elsewhere', 'sidecar');
    cpSync(join(ROOT, 'sidecar'), copy, { recursive: true, filter: (src) => !src.includes(join('sidecar', 'bin')) });
    const output = join(work, 'rebuilt', platform.binary);
    buildPlatform(platform, output, { version: packed.version, dir: copy, env: cleanEnv({ GOCACHE: join(work, 'empty-gocache') }) });
    assert.ok(
      readFileSync(output).equals(readFileSync(join(work, 'package', platform.binary))),
      'the rebuilt binary differs from the packed one',
    );
  });
});
