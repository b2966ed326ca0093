// Packaging: the tarballs of scripts/pack.js (the main package and this platform's package)
// installed into a fresh CommonJS Nest app, with Go hidden from PATH: the app logs in, rotates
// and logs out with the prebuilt binary; a tampered binary and a missing platform package are
// refused with clear errors; the CLI builds a sidecar from the shipped sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, freshApp, installApp, mustRun, PLATFORM, ROOT, run, type Packed, SuiteSetup } from './support/packages';
import { failingStart, runApp } from './support/session-flow';

const tarList = (tarball: string) => mustRun('tar', ['-tzf', tarball], ROOT, cleanEnv(), 60_000).trim().split('\n');
const tarFile = (tarball: string, file: string) => mustRun('tar', ['-xzOf', tarball, file], ROOT, cleanEnv(), 60_000);

/** The package.json fields these tests check. */
interface PackageManifest {
  name: string;
  version: string;
  os?: string[];
  cpu?: string[];
  scripts?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

describe('npm packages: main + platform, into a CommonJS app', { timeout: 600_000 }, () => {
  let work: string;
  let packed: Packed;
  let app: string;
  let pathWithoutGo: string;
  const setup = new SuiteSetup();
  const ready = () => setup.ready();

  before(() =>
    setup.run(() => {
      ({ packed, work, app, pathWithoutGo } = freshApp({
        sources: { 'main.ts': 'app.ts.txt' },
        compilerOptions: { module: 'commonjs', moduleResolution: 'node', target: 'es2022' },
      }));
    }),
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const appEnv = () => cleanEnv({ PATH: pathWithoutGo });
  const platformBinary = () =>
    join(app, 'node_modules', ...packed.platforms[PLATFORM].package.split('/'), packed.platforms[PLATFORM].binary);

  it('the main tarball: dist/, the Go sources, the CLI, the docs, prebuilt.json and exact-version optional platform packages; no binary, no install script', () => {
    ready();
    const files = tarList(join(packed.dir, packed.main)).map((f) => f.replace(/^package\//, ''));
    for (const file of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'bin/nestjs-xems.js',
      'sidecar/go.mod',
      'sidecar/prebuilt.json',
      'docs/protocol.md',
    ]) {
      assert.ok(files.includes(file), `${file} is in the main tarball`);
    }
    assert.ok(
      files.some((f) => /^sidecar\/cmd\/xems-sidecar\/[^/]+\.go$/.test(f)) && files.some((f) => /^sidecar\/internal\/.+\.go$/.test(f)),
      'the Go sources',
    );
    const unwanted = files.filter(
      (f) =>
        /^(src|test|sample|bench|scripts|build|node_modules|\.ci)\//.test(f) ||
        /^sidecar\/bin\//.test(f) ||
        /_test\.go$|\/testdata\/|\.spec\.(js|d\.ts)|\.tgz$/.test(f),
    );
    assert.deepEqual(unwanted, []);

    const manifest = JSON.parse(tarFile(join(packed.dir, packed.main), 'package/package.json')) as PackageManifest;
    const repo = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
    assert.equal(manifest.version, repo.version);
    assert.deepEqual(
      manifest.optionalDependencies,
      Object.fromEntries(Object.values(packed.platforms).map((p) => [p.package, repo.version])),
    );
    assert.equal(Object.keys(manifest.optionalDependencies ?? {}).length, 6);
    assert.equal(manifest.scripts, undefined, 'no install (or any other) script');
    assert.equal(
      repo.optionalDependencies,
      undefined,
      "the repository's own package.json lists no platform package (npm ci works before they are published)",
    );

    const prebuilt = JSON.parse(tarFile(join(packed.dir, packed.main), 'package/sidecar/prebuilt.json')) as {
      version: string;
      platforms: Record<string, { sha256: string; package: string }>;
    };
    assert.equal(prebuilt.version, repo.version);
    for (const [tag, p] of Object.entries(packed.platforms))
      assert.deepEqual(prebuilt.platforms[tag], { package: p.package, binary: p.binary, sha256: p.sha256 });
  });

  it('each platform tarball: its os/cpu, the same version, only the binary (executable), no scripts', () => {
    ready();
    for (const [tag, p] of Object.entries(packed.platforms)) {
      const tarball = join(packed.dir, p.tarball);
      const manifest = JSON.parse(tarFile(tarball, 'package/package.json')) as PackageManifest;
      const [os, cpu] = tag.split('-');
      assert.deepEqual([manifest.name, manifest.version, manifest.os, manifest.cpu], [p.package, packed.version, [os], [cpu]]);
      assert.equal(manifest.scripts, undefined);
      assert.deepEqual(
        tarList(tarball).sort(),
        ['package/LICENSE', 'package/README.md', `package/${p.binary}`, 'package/package.json'].sort(),
      );
      const listing = mustRun('tar', ['-tvzf', tarball, `package/${p.binary}`], ROOT, cleanEnv(), 60_000);
      assert.match(listing, /^-rwxr-xr-x/, `${p.binary} is executable in ${p.tarball}`);
    }
  });

  it('installs into a fresh Nest app without Go on PATH; the app logs in, rotates and logs out with the prebuilt binary', async () => {
    ready();
    assert.ok(existsSync(platformBinary()), `the platform package is installed at ${platformBinary()}`);
    assert.ok(!existsSync(join(app, 'node_modules', 'nestjs-xems', 'sidecar', 'bin')), 'no binary in the main package');
    await runApp({ node: process.execPath, app, entry: 'dist/main.js', env: appEnv(), binary: platformBinary() });
  });

  it('a tampered prebuilt binary is refused with the checksum error naming the file and both hashes', async () => {
    ready();
    const binary = platformBinary();
    cpSync(binary, `${binary}.orig`);
    try {
      appendFileSync(binary, '#');
      const output = await failingStart({ node: process.execPath, app, entry: 'dist/main.js', env: appEnv() });
      assert.match(output, /SIDECAR_CHECKSUM_MISMATCH|XemsSidecarChecksumError/);
      assert.ok(output.includes(binary), `names the file:\n${output}`);
      assert.ok(output.includes(packed.platforms[PLATFORM].sha256), `names the recorded hash:\n${output}`);
      assert.match(output, /SHA-256 [0-9a-f]{64}/);
    } finally {
      renameSync(`${binary}.orig`, binary);
    }
  });

  it('installed with --omit=optional: the error names the platform package to install', async () => {
    ready();
    const lean = join(work, 'lean-app');
    cpSync(join(app, 'src'), join(lean, 'src'), { recursive: true });
    cpSync(join(app, 'dist'), join(lean, 'dist'), { recursive: true });
    installApp(lean, packed, { pathWithoutGo, omitOptional: true });
    const p = packed.platforms[PLATFORM];
    assert.ok(!existsSync(join(lean, 'node_modules', ...p.package.split('/'))), 'npm left the platform package out');
    const output = await failingStart({ node: process.execPath, app: lean, entry: 'dist/main.js', env: appEnv() });
    assert.ok(output.includes(`npm install ${p.package}@${packed.version}`), `names the package to install:\n${output}`);
    assert.match(output, /--omit=optional/);
    assert.ok(
      output.indexOf(`npm install ${p.package}`) < output.indexOf('npx nestjs-xems build-sidecar'),
      'the package first, then build-sidecar',
    );
  });

  it('ships a CLI: --help, a clear error without Go, and build-sidecar with Go, whose binary the app then prefers', async () => {
    ready();
    const npx = join(pathWithoutGo, 'npx');
    const help = run(npx, ['--no', '--', 'nestjs-xems', '--help'], app, appEnv(), 30_000);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /build-sidecar/);

    const noGo = run(npx, ['--no', '--', 'nestjs-xems', 'build-sidecar'], app, appEnv(), 30_000);
    assert.equal(noGo.status, 1);
    assert.match(noGo.stderr, /Go was not found/);
    assert.doesNotMatch(noGo.stderr, /\n\s+at /, 'no stack trace');

    const built = join(app, 'node_modules', 'nestjs-xems', 'sidecar', 'bin', PLATFORM, 'xems-sidecar');
    const withGo = run(npx, ['--no', '--', 'nestjs-xems', 'build-sidecar'], app, cleanEnv(), 240_000);
    assert.equal(withGo.status, 0, `${withGo.stdout}\n${withGo.stderr}`);
    assert.ok(existsSync(built), 'build-sidecar built the binary from the shipped Go sources');
    const version = spawnSync(built, ['--version'], { encoding: 'utf8', timeout: 5_000 });
    assert.match(version.stdout, new RegExp(`^${packed.version.replace(/\./g, '\\.')}\\+go`), 'stamped with the package version');
    assert.deepEqual(readFileSync(built), readFileSync(platformBinary()), 'the same bytes as the prebuilt binary (reproducible)');
    await runApp({ node: process.execPath, app, entry: 'dist/main.js', env: appEnv(), binary: built });
  });
});
