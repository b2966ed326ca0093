// The packed packages (scripts/pack.js) and a fresh app that installs them from their tarballs,
// with Go out of reach, as a new user's machine has them.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../browser/support/paths';

export const ROOT = repoRoot();
export const PLATFORM = `${process.platform}-${process.arch}`;

/** A row of scripts/platforms.js. */
export interface PlatformSpec {
  tag: string;
  os: string;
  cpu: string;
  goos: string;
  goarch: string;
  binary: string;
}
// The repository's CommonJS scripts, outside the compiled tree: loaded relative to the root.
const fromRoot = createRequire(join(ROOT, 'package.json'));
export const PLATFORMS = (fromRoot('./scripts/platforms.js') as { PLATFORMS: PlatformSpec[] }).PLATFORMS;
/** scripts/pack.js's cross build of one platform. */
export const buildPlatform = (
  fromRoot('./scripts/pack.js') as {
    buildPlatform(platform: PlatformSpec, output: string, o: { version: string; dir: string; env: NodeJS.ProcessEnv }): void;
  }
).buildPlatform;

export interface PackedPlatform {
  package: string;
  binary: string;
  sha256: string;
  tarball: string;
}

export interface Packed {
  dir: string;
  version: string;
  main: string;
  platforms: Record<string, PackedPlatform>;
}

/**
 * build/packages, packed by `npm test` before the suites run; packed here (once, under a lock
 * that the other spec files wait for) when a spec file runs alone.
 */
export function packedPackages(): Packed {
  const dir = join(ROOT, 'build', 'packages');
  const index = join(dir, 'packages.json');
  if (!existsSync(index)) {
    const lock = join(ROOT, 'build', 'packages.lock');
    mkdirSync(dirname(lock), { recursive: true });
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`${lock} is held: remove it if no pack is running`);
        spawnSync('sleep', ['1']);
      }
    }
    try {
      if (!existsSync(index)) mustRun(process.execPath, [join(ROOT, 'scripts', 'pack.js'), '--out', dir], ROOT, cleanEnv(), 20 * 60_000);
    } finally {
      rmdirSync(lock);
    }
  }
  const packed = JSON.parse(readFileSync(index, 'utf8')) as Omit<Packed, 'dir'>;
  return { dir, ...packed };
}

/** The environment without npm's per-script variables (a nested npm must not inherit them). */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'XEMS_SIDECAR_PATH' && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, ...extra };
}

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.error)
    throw new Error(`${command} ${args.join(' ')} failed to run: ${result.error.message}\n${result.stdout}${result.stderr}`);
  return result;
}

export function mustRun(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): string {
  const result = run(command, args, cwd, env, timeoutMs);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** A folder with links to node, npm, npx and sh (npx runs bins through sh) and nothing else: no Go. */
export function nodeOnlyBin(dir: string): string {
  mkdirSync(dir);
  const tools: Record<string, string> = {
    node: process.execPath,
    npm: join(dirname(process.execPath), 'npm'),
    npx: join(dirname(process.execPath), 'npx'),
    sh: '/bin/sh',
  };
  for (const [name, path] of Object.entries(tools)) symlinkSync(realpathSync(path), join(dir, name));
  const whichGo = spawnSync('/bin/sh', ['-c', 'command -v go'], { env: { PATH: dir }, encoding: 'utf8' });
  assert.equal(whichGo.stdout.trim(), '', 'go is not reachable on the PATH of the app');
  return dir;
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Writes package.json for an app that depends on the packed nestjs-xems and the NestJS packages
 * this repository tests with, and on this platform's package as an optional dependency (the
 * registry does not have it yet; the packed nestjs-xems asks for it by exact version, which this
 * satisfies). Installs with npm, Go out of reach. `omitOptional`: as `--omit=optional` users do.
 */
export function installApp(app: string, packed: Packed, o: { pathWithoutGo: string; type?: 'module'; omitOptional?: boolean }): void {
  const platform = packed.platforms[PLATFORM];
  assert.ok(platform, `a platform package for ${PLATFORM} was packed`);
  const manifest = {
    name: 'xems-pack-smoke',
    private: true,
    ...(o.type ? { type: o.type } : {}),
    dependencies: {
      'nestjs-xems': `file:${join(packed.dir, packed.main)}`,
      ...Object.fromEntries(
        ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'].map((n) => [n, installedVersion(n)]),
      ),
    },
    optionalDependencies: { [platform.package]: `file:${join(packed.dir, platform.tarball)}` },
  };
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  const npm = join(o.pathWithoutGo, 'npm');
  const args = [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    ...(o.omitOptional ? ['--omit=optional'] : []),
  ];
  mustRun(npm, args, app, cleanEnv({ PATH: o.pathWithoutGo }), 240_000);
}

/** Compiles the app with this repository's TypeScript. */
export function compileApp(app: string): void {
  mustRun(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, cleanEnv(), 120_000);
}

/**
 * A suite's one-time set-up (packing, installing): a failure fails every test with its message
 * instead of cancelling them (cancelled tests are not counted as failures in the summary).
 */
export class SuiteSetup {
  private error: unknown;

  run(setUp: () => void): void {
    try {
      setUp();
    } catch (err) {
      this.error = err;
    }
  }

  ready(): void {
    if (this.error) throw this.error;
  }
}

export interface FreshApp {
  packed: Packed;
  work: string;
  app: string;
  /** node, npm, npx and sh only: Go is out of reach. */
  pathWithoutGo: string;
}

/**
 * A new app in a temp folder: its sources copied from test/pack/fixture (destination under src/ ->
 * fixture file), a tsconfig with these compiler options (strict, decorators), the packed main and
 * platform packages installed without Go, compiled.
 */
export function freshApp(o: { sources: Record<string, string>; compilerOptions: Record<string, unknown>; type?: 'module' }): FreshApp {
  const packed = packedPackages();
  const work = mkdtempSync(join(tmpdir(), 'xems-pack-'));
  const pathWithoutGo = nodeOnlyBin(join(work, 'node-only-bin'));
  const app = join(work, 'app');
  for (const [dest, fixture] of Object.entries(o.sources)) cpSync(join(ROOT, 'test', 'pack', 'fixture', fixture), join(app, 'src', dest));
  const compilerOptions = {
    ...o.compilerOptions,
    outDir: 'dist',
    rootDir: 'src',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    types: ['node'],
  };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src/**/*.ts'] }, null, 2));
  installApp(app, packed, { pathWithoutGo, type: o.type });
  compileApp(app);
  return { packed, work, app, pathWithoutGo };
}
