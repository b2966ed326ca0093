#!/usr/bin/env node
'use strict';
// Runs every compiled test file under build/ (unit *.spec.js and e2e *.e2e-spec.js) with
// Node's built-in runner (the node running this script). Usage:
//   node scripts/run-tests.js [substring ...] [--skip substring ...]
// runs only the files whose path contains one of the substrings, less those whose path contains
// a --skip substring (.ci/run: the unit and e2e suites on other Node versions, without the
// browser and pack suites). Exit code: the runner's.
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const buildDir = join(root, 'build');

function findTests(dir, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findTests(path, found);
    else if (entry.isFile() && /\.(e2e-)?spec\.js$/.test(entry.name)) found.push(path);
  }
  return found;
}

if (!existsSync(buildDir)) {
  console.error('run-tests: build/ does not exist; run "npm run build:test" first (npm test does both).');
  process.exit(1);
}
// A compiled test whose TypeScript source was deleted or renamed is stale: skip it.
const hasSource = (file) => existsSync(join(root, relative(buildDir, file)).replace(/\.js$/, '.ts'));
const filters = [];
const skips = [];
for (let args = process.argv.slice(2); args.length > 0;) {
  const arg = args.shift();
  if (arg === '--skip') skips.push(args.shift() ?? '');
  else filters.push(arg);
}
const files = findTests(buildDir)
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .filter((f) => !skips.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files found under build/${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`run-tests: ${files.length} files on Node ${process.version}\n${files.map((f) => `  ${relative(root, f)}`).join('\n')}`);

// Human-readable spec output on stdout, TAP in a file whose summary ("# pass N", "# fail N")
// is printed at the end for CI.
const tapFile = join(buildDir, 'test-results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${process.env.XEMS_TEST_CONCURRENCY || 2}`,
    // Per test file as well as per test: the pack suites install apps and compile Go.
    `--test-timeout=${process.env.XEMS_TEST_TIMEOUT || 300000}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (result.error) {
  console.error(`run-tests: could not start node: ${result.error.message}`);
  process.exit(1);
}
if (existsSync(tapFile)) {
  const summary = readFileSync(tapFile, 'utf8')
    .split('\n')
    .filter((line) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line));
  console.log(`\n${summary.join('\n')}`);
}
process.exit(result.status === null ? 1 : result.status);
