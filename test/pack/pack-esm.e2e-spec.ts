// An ESM NestJS app, laid out as `nest new` makes it ("type": "module", module nodenext, relative
// imports with .js), installs the packed tarballs (main + this platform) with Go hidden, and logs
// in, rotates and logs out on Node 26 (from the npm registry's node-<platform>-<arch> package, as
// .ci/run installs it) and on the Node running the tests.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, compileApp, installApp, mustRun, nodeOnlyBin, PLATFORM, ROOT, TYPE_ROOTS, type Packed, packedPackages } from './support/packages';
import { runApp } from './support/session-flow';

describe('npm packages: main + platform, into an ESM app', { timeout: 600_000 }, () => {
  let work: string;
  let packed: Packed;
  let app: string;
  let pathWithoutGo: string;
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  before(() => {
    try {
      packed = packedPackages();
      work = mkdtempSync(join(tmpdir(), 'xems-pack-esm-'));
      pathWithoutGo = nodeOnlyBin(join(work, 'node-only-bin'));
      app = join(work, 'app');
      const fixture = join(ROOT, 'test', 'pack', 'fixture', 'esm');
      cpSync(join(fixture, 'main.ts.txt'), join(app, 'src', 'main.ts'));
      cpSync(join(fixture, 'app.module.ts.txt'), join(app, 'src', 'app.module.ts'));
      cpSync(join(fixture, 'auth.controller.ts.txt'), join(app, 'src', 'auth', 'auth.controller.ts'));
      const tsconfig = {
        compilerOptions: {
          module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', outDir: 'dist', rootDir: 'src', strict: true,
          experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: true, declaration: false,
          typeRoots: TYPE_ROOTS, types: ['node'],
        },
        include: ['src/**/*.ts'],
      };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      installApp(app, packed, { pathWithoutGo, type: 'module' });
      compileApp(app);
    } catch (err) {
      setupError = err;
    }
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const platformBinary = () => join(app, 'node_modules', ...packed.platforms[PLATFORM].package.split('/'), packed.platforms[PLATFORM].binary);

  it('compiles as ESM: the output uses import, not require', () => {
    ready();
    const main = readFileSync(join(app, 'dist', 'main.js'), 'utf8');
    assert.match(main, /^import .* from '\.\/app\.module\.js';$/m);
    assert.doesNotMatch(main, /\brequire\(/);
  });

  it('logs in, rotates and logs out on Node 26', async () => {
    ready();
    const node26 = mustRun(process.execPath, [join(ROOT, 'scripts', 'node-runtime.js'), '26'], ROOT, cleanEnv(), 300_000).trim();
    assert.match(mustRun(node26, ['--version'], app, cleanEnv(), 10_000), /^v26\./);
    await runApp({ node: node26, app, entry: 'dist/main.js', env: cleanEnv({ PATH: pathWithoutGo }), binary: platformBinary() });
  });

  it(`logs in, rotates and logs out on the Node running the tests (${process.version})`, async () => {
    ready();
    await runApp({ node: process.execPath, app, entry: 'dist/main.js', env: cleanEnv({ PATH: pathWithoutGo }), binary: platformBinary() });
  });
});
