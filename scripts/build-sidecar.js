#!/usr/bin/env node
'use strict';
// Builds the Go sidecar for this machine into sidecar/bin/<platform>-<arch>/xems-sidecar,
// the place the module looks for it. Without Go, an already built binary is kept.
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const sidecarDir = join(root, 'sidecar');
const { version } = require(join(root, 'package.json'));
const exe = process.platform === 'win32' ? 'xems-sidecar.exe' : 'xems-sidecar';
const relOut = join('bin', `${process.platform}-${process.arch}`, exe);
const out = join(sidecarDir, relOut);

const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  if (existsSync(out)) {
    console.log(`build-sidecar: Go is not installed; using the existing binary ${out}`);
    process.exit(0);
  }
  console.error(
    `build-sidecar: Go is not installed and there is no sidecar binary at ${out}.\n` +
      'Install Go 1.26 or newer (https://go.dev/dl/) and run "npm run build:sidecar" again,\n' +
      'or set XEMS_SIDECAR_PATH to a prebuilt xems-sidecar binary.',
  );
  process.exit(1);
}
if (!existsSync(join(sidecarDir, 'go.mod'))) {
  console.error(`build-sidecar: no Go module at ${sidecarDir} (go.mod missing)`);
  process.exit(1);
}

mkdirSync(join(sidecarDir, 'bin', `${process.platform}-${process.arch}`), { recursive: true });
const args = ['build', '-trimpath', '-ldflags', `-s -w -X main.version=${version}`, '-o', relOut, './cmd/xems-sidecar'];
console.log(`build-sidecar: ${probe.stdout.trim()}; go ${args.join(' ')} (in sidecar/)`);
const build = spawnSync('go', args, { cwd: sidecarDir, stdio: 'inherit' });
if (build.error) {
  console.error(`build-sidecar: could not run go: ${build.error.message}`);
  process.exit(1);
}
if (build.status !== 0) {
  console.error(`build-sidecar: go build failed (exit ${build.status})`);
  process.exit(build.status ?? 1);
}
console.log(`build-sidecar: built ${out}`);
