// Packaging: `npm pack` (which runs prepack: build dist/ and the sidecar) from a copy of the
// repository, then a fresh Nest app installs the tarball and runs with a PATH that has no Go.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XEMS_DEFAULTS } from '../../src';
import { repoRoot } from '../browser/support/paths';
import { childPids, executableOf, isAlive, Spawned } from '../browser/support/processes';

const ROOT = repoRoot();
const PLATFORM = `${process.platform}-${process.arch}`;
const COOKIE = XEMS_DEFAULTS.cookie.name;
// A PATH holding only node, npm, npx and sh (links made in before()): Go cannot be found on it.
let PATH_WITHOUT_GO = '';

/** A folder with links to node, npm, npx and sh (npx runs bins through sh) and nothing else. */
function nodeOnlyBin(dir: string): string {
  mkdirSync(dir);
  const tools: Record<string, string> = {
    node: process.execPath,
    npm: join(dirname(process.execPath), 'npm'),
    npx: join(dirname(process.execPath), 'npx'),
    sh: '/bin/sh',
  };
  for (const [name, path] of Object.entries(tools)) symlinkSync(realpathSync(path), join(dir, name));
  return dir;
}

/** The environment without npm's per-script variables (a nested npm must not inherit them). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'XEMS_SIDECAR_PATH' && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} ${args.join(' ')} failed to run: ${result.error.message}\n${result.stdout}${result.stderr}`);
  return result;
}

function mustRun(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): string {
  const result = run(command, args, cwd, env, timeoutMs);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function sessionCookie(res: Response): string | undefined {
  return res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`));
}

describe('npm package', { timeout: 300_000 }, () => {
  let work: string;
  let tarball: string;
  let packedFiles: string[];
  let app: string;

  // A failed set-up (npm pack) fails every test with its message instead of cancelling them
  // (cancelled tests are not counted as failures in the suite's summary).
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  before(() => {
    try {
      pack();
    } catch (err) {
      setupError = err;
    }
  });

  function pack(): void {
    work = mkdtempSync(join(tmpdir(), 'xems-pack-'));
    PATH_WITHOUT_GO = nodeOnlyBin(join(work, 'node-only-bin'));
    // Pack a copy so that prepack's dist/ and sidecar build never race the other test files
    // that run the repository's own sidecar binary at the same time.
    const copy = join(work, 'repo');
    const skip = new Set(['node_modules', 'build', 'dist', '.git', 'coverage']);
    cpSync(ROOT, copy, {
      recursive: true,
      filter: (src) => {
        const rel = relative(ROOT, src);
        const top = rel.split(/[\\/]/)[0];
        return !skip.has(top) && !top.startsWith('.') && !rel.startsWith(join('sidecar', 'bin')) && !rel.startsWith(join('test', 'artifacts')) && !rel.endsWith('.tgz');
      },
    });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    const out = mustRun('npm', ['pack', '--json', '--pack-destination', work], copy, cleanEnv(), 240_000);
    // prepack's own output comes first on stdout; npm's JSON report is the last thing printed.
    const info = JSON.parse(out.slice(out.search(/^\[\s*\{/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, info[0].filename);
    packedFiles = info[0].files.map((f) => f.path);
  }

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('contains dist/, the sidecar Go sources, the prebuilt binary, the CLI and the docs, and nothing else', () => {
    ready();
    const has = (path: string) => assert.ok(packedFiles.includes(path), `${path} is in the tarball`);
    has('package.json');
    has('README.md');
    has('dist/index.js');
    has('dist/index.d.ts');
    has('bin/nestjs-xems.js');
    has('sidecar/go.mod');
    has(`sidecar/bin/${PLATFORM}/xems-sidecar`);
    has('docs/protocol.md');
    assert.ok(packedFiles.some((f) => /^sidecar\/cmd\/xems-sidecar\/[^/]+\.go$/.test(f)), 'the sidecar main package');
    assert.ok(packedFiles.some((f) => /^sidecar\/internal\/.+\.go$/.test(f)), 'the sidecar internal packages');
    const unwanted = packedFiles.filter((f) =>
      /^(src|test|sample|bench|scripts|build|node_modules|\.ci)\//.test(f) || /_test\.go$/.test(f) || /\/testdata\//.test(f) || /\.spec\.(js|d\.ts)/.test(f) || /\.tgz$/.test(f),
    );
    assert.deepEqual(unwanted, []);
  });

  it('installs into a fresh Nest app without Go on PATH; the app logs in and out with the shipped binary', async () => {
    ready();
    const whichGo = spawnSync('/bin/sh', ['-c', 'command -v go'], { env: { PATH: PATH_WITHOUT_GO }, encoding: 'utf8' });
    assert.equal(whichGo.stdout.trim(), '', 'go is not reachable on the PATH used below');
    assert.ok(!PATH_WITHOUT_GO.split(delimiter).some((dir) => existsSync(join(dir, 'go'))));
    app = join(work, 'app');
    cpSync(join(ROOT, 'test', 'pack', 'fixture', 'app.ts.txt'), join(app, 'src', 'main.ts'));
    const manifest = {
      name: 'xems-pack-smoke',
      private: true,
      dependencies: {
        'nestjs-xems': `file:${tarball}`,
        '@nestjs/common': installedVersion('@nestjs/common'),
        '@nestjs/core': installedVersion('@nestjs/core'),
        '@nestjs/platform-express': installedVersion('@nestjs/platform-express'),
        'reflect-metadata': installedVersion('reflect-metadata'),
        rxjs: installedVersion('rxjs'),
      },
    };
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    const tsconfig = {
      compilerOptions: {
        module: 'commonjs',
        moduleResolution: 'node',
        target: 'es2022',
        outDir: 'dist',
        rootDir: 'src',
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        skipLibCheck: true,
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      include: ['src/**/*.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));

    // npm from node's folder, with Go out of reach: the install must not need it.
    const npm = join(PATH_WITHOUT_GO, 'npm');
    mustRun(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app, cleanEnv({ PATH: PATH_WITHOUT_GO }), 180_000);
    const shipped = join(app, 'node_modules', 'nestjs-xems', 'sidecar', 'bin', PLATFORM, 'xems-sidecar');
    assert.ok(existsSync(shipped), `the prebuilt sidecar is installed at ${shipped}`);
    mustRun(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, cleanEnv(), 120_000);

    const server = new Spawned(process.execPath, ['dist/main.js'], { cwd: app, env: cleanEnv({ PATH: PATH_WITHOUT_GO }) });
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000);
      const sidecars = childPids(server.child.pid!).map(executableOf);
      assert.deepEqual(sidecars, [realpathSync(shipped)], 'the app runs the binary shipped in the package');

      const login = await fetch(`${url}/login`, { method: 'POST' });
      assert.equal(login.status, 200);
      const setCookie = sessionCookie(login);
      assert.ok(setCookie, 'login sets the session cookie');
      assert.match(setCookie, /HttpOnly/i);
      let token = setCookie.slice(COOKIE.length + 1).split(';')[0];

      const me = await fetch(`${url}/me`, { headers: { cookie: `${COOKIE}=${token}` } });
      assert.equal(me.status, 200);
      assert.deepEqual(await me.json(), { name: 'Packed' });
      token = (sessionCookie(me) ?? setCookie).slice(COOKIE.length + 1).split(';')[0];

      const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie: `${COOKIE}=${token}` } });
      assert.equal(logout.status, 200);
      assert.match(sessionCookie(logout) ?? '', /Max-Age=0|Expires=Thu, 01 Jan 1970/i, 'logout clears the cookie');
      const after = await fetch(`${url}/me`, { headers: { cookie: `${COOKIE}=${token}` } });
      assert.equal(after.status, 401);

      server.child.kill('SIGTERM');
      await server.waitExit(10_000);
      for (const pid of childPids(server.child.pid!)) assert.equal(isAlive(pid), false);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('without a binary for the platform, names the platform and `npx nestjs-xems build-sidecar`', async () => {
    ready();
    assert.ok(app, 'needs the installed app of the previous test');
    const binDir = join(app, 'node_modules', 'nestjs-xems', 'sidecar', 'bin');
    renameSync(binDir, `${binDir}.away`);
    try {
      const server = new Spawned(process.execPath, ['dist/main.js'], { cwd: app, env: cleanEnv({ PATH: PATH_WITHOUT_GO }) });
      const exit = await server.waitExit(20_000);
      assert.notEqual(exit.code, 0);
      assert.ok(server.output.includes(PLATFORM), `the error names ${PLATFORM}:\n${server.output}`);
      assert.ok(server.output.includes('npx nestjs-xems build-sidecar'), `the error names the fix:\n${server.output}`);
    } finally {
      renameSync(`${binDir}.away`, binDir);
    }
  });

  it('ships a CLI: --help, a clear error without Go, and build-sidecar with Go', () => {
    ready();
    assert.ok(app, 'needs the installed app of the previous test');
    const npx = join(PATH_WITHOUT_GO, 'npx');
    const help = run(npx, ['--no', '--', 'nestjs-xems', '--help'], app, cleanEnv({ PATH: PATH_WITHOUT_GO }), 30_000);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /build-sidecar/);

    const noGo = run(npx, ['--no', '--', 'nestjs-xems', 'build-sidecar'], app, cleanEnv({ PATH: PATH_WITHOUT_GO }), 30_000);
    assert.equal(noGo.status, 1);
    assert.match(noGo.stderr, /Go was not found/);
    assert.doesNotMatch(noGo.stderr, /\n\s+at /, 'no stack trace');

    const binary = join(app, 'node_modules', 'nestjs-xems', 'sidecar', 'bin', PLATFORM, 'xems-sidecar');
    rmSync(binary);
    const withGo = run(npx, ['--no', '--', 'nestjs-xems', 'build-sidecar'], app, cleanEnv(), 180_000);
    assert.equal(withGo.status, 0, `${withGo.stdout}\n${withGo.stderr}`);
    assert.ok(existsSync(binary), 'build-sidecar rebuilt the binary from the shipped Go sources');
    const hello = spawnSync(binary, [], { input: Buffer.alloc(0), timeout: 5_000 });
    assert.equal(hello.status, 0, 'the rebuilt sidecar starts and exits on stdin EOF');
    assert.ok(hello.stdout.length >= 5, 'it wrote its HELLO frame');
  });
});
