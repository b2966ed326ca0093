// An ESM NestJS app, laid out as `nest new` makes it ("type": "module", module nodenext, relative
// imports with .js), installs the packed tarballs (main + this platform) with Go hidden, and logs
// in, rotates and logs out on Node 26 (from the npm registry's node-<platform>-<arch> package, as
// .ci/run installs it) and on the Node running the tests.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, freshApp, mustRun, PLATFORM, ROOT, type Packed, SuiteSetup } from './support/packages';
import { runApp } from './support/session-flow';

describe('npm packages: main + platform, into an ESM app', { timeout: 600_000 }, () => {
  let work: string;
  let packed: Packed;
  let app: string;
  let pathWithoutGo: string;
  const setup = new SuiteSetup();
  const ready = () => setup.ready();

  before(() =>
    setup.run(() => {
      ({ packed, work, app, pathWithoutGo } = freshApp({
        type: 'module',
        sources: {
          'main.ts': 'esm/main.ts.txt',
          'app.module.ts': 'esm/app.module.ts.txt',
          'auth/auth.controller.ts': 'esm/auth.controller.ts.txt',
        },
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023' },
      }));
    }),
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const platformBinary = () =>
    join(app, 'node_modules', ...packed.platforms[PLATFORM].package.split('/'), packed.platforms[PLATFORM].binary);

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
