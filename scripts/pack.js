#!/usr/bin/env node
'use strict';
// `npm run pack:all [-- --out <dir>]`: packs what is published, as tarballs in <dir> (default
// build/packages): the main package nestjs-xems and one package per platform
// (scripts/platforms.js) holding its prebuilt sidecar. Publish the platform tarballs first,
// then the main one (`npm publish <tarball>` each). Writes <dir>/packages.json listing them.
//
// The repository's package.json has no optionalDependencies, so that `npm ci` in a checkout
// never asks the registry for platform packages of a version not published yet. They are added
// here, to the packed copy only, with exact versions; so is sidecar/prebuilt.json, the SHA-256
// of every platform binary, which the module checks before it spawns one. A plain `npm pack` or
// `npm publish` in the repository is refused by prepack (it would ship neither).
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { goBuild, findGo } = require('../bin/nestjs-xems.js');
const { PLATFORMS } = require('./platforms.js');

const ROOT = path.resolve(__dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' });
  if (result.error || result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error ? result.error.message : `exit ${result.status}`}):\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** `npm pack` of a prepared folder, no scripts; returns the tarball's file name. */
function npmPack(dir, out) {
  const report = JSON.parse(run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], dir));
  return report[0].filename;
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

function buildDist() {
  fs.rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
  run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], ROOT);
}

/**
 * Cross-builds one platform's sidecar (the test of reproducible builds calls this too). Fixed
 * microarchitecture levels (Go's defaults) and no GOFLAGS: the environment cannot change the bytes.
 */
function buildPlatform(platform, output, { version, dir, env = process.env } = {}) {
  const cross = { ...env, GOOS: platform.goos, GOARCH: platform.goarch, GOAMD64: 'v1', GOARM64: 'v8.0', GOFLAGS: '' };
  goBuild({ output, env: cross, version, dir });
}

/** One platform package in stage/<tag>: the cross-built binary, package.json, README, LICENSE. */
function stagePlatform(platform, main, stage) {
  const dir = path.join(stage, platform.tag);
  const binary = path.join(dir, platform.binary);
  process.stderr.write(`pack: building ${platform.packageName} (GOOS=${platform.goos} GOARCH=${platform.goarch})\n`);
  buildPlatform(platform, binary, { version: main.version });
  writeJson(path.join(dir, 'package.json'), {
    name: platform.packageName,
    version: main.version,
    description: `The xems sidecar of ${main.name} for ${platform.label}: installed by ${main.name} as an optional dependency.`,
    license: main.license,
    ...(main.repository ? { repository: main.repository } : {}),
    os: [platform.os],
    cpu: [platform.cpu],
    files: ['bin/'],
    preferUnplugged: true,
  });
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${platform.packageName}\n\nThe prebuilt \`xems-sidecar\` binary of [${main.name}](https://www.npmjs.com/package/${main.name}) ` +
      `${main.version} for ${platform.label}. Do not install it directly: ${main.name} lists it as an optional ` +
      'dependency, and your package manager installs the one for your platform. The module checks its SHA-256 ' +
      `against the value recorded in ${main.name} before it starts it.\n`,
  );
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(dir, 'LICENSE'));
  return { dir, sha256: sha256(binary) };
}

/** The main package in stage/main: the files `npm pack` would take, the packed manifest, prebuilt.json. */
function stageMain(main, stage, prebuilt) {
  const dir = path.join(stage, 'main');
  const listing = JSON.parse(run(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT))[0].files;
  for (const { path: file } of listing) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  const manifest = { ...main, optionalDependencies: Object.fromEntries(PLATFORMS.map((p) => [p.packageName, main.version])) };
  delete manifest.scripts;
  delete manifest.devDependencies;
  writeJson(path.join(dir, 'package.json'), manifest);
  writeJson(path.join(dir, 'sidecar', 'prebuilt.json'), prebuilt);
  return dir;
}

function packAll(out) {
  findGo(process.env.GO || 'go');
  const main = readJson(path.join(ROOT, 'package.json'));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'xems-pack-stage-'));
  try {
    buildDist();
    const prebuilt = { version: main.version, platforms: {} };
    const index = { version: main.version, main: '', platforms: {} };
    for (const platform of PLATFORMS) {
      const { dir, sha256: digest } = stagePlatform(platform, main, stage);
      prebuilt.platforms[platform.tag] = { package: platform.packageName, binary: platform.binary, sha256: digest };
      index.platforms[platform.tag] = {
        package: platform.packageName,
        binary: platform.binary,
        sha256: digest,
        tarball: npmPack(dir, out),
      };
    }
    index.main = npmPack(stageMain(main, stage, prebuilt), out);
    writeJson(path.join(out, 'packages.json'), index);
    return index;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.includes('--refuse-plain-pack')) {
    console.error(
      'nestjs-xems: pack with "npm run pack:all": it adds the platform packages and their checksums, which a plain npm pack or publish would not ship.',
    );
    process.exit(1);
  }
  const at = args.indexOf('--out');
  const out = path.resolve(at >= 0 && args[at + 1] ? args[at + 1] : path.join(ROOT, 'build', 'packages'));
  try {
    const index = packAll(out);
    console.log(
      `pack: ${out}\n  ${index.main}\n${Object.values(index.platforms)
        .map((p) => `  ${p.tarball}  sha256 ${p.sha256}`)
        .join('\n')}`,
    );
  } catch (err) {
    console.error(`pack: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { packAll, buildPlatform };
