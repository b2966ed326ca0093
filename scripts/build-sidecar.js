#!/usr/bin/env node
'use strict';
// `npm run build:sidecar`: builds the Go sidecar for this machine into
// sidecar/bin/<platform>-<arch>/xems-sidecar (where the module looks for it) with the same
// code as `npx nestjs-xems build-sidecar`. Without Go, an already built binary is kept, so a
// checkout that shipped one still runs its tests.
const { existsSync } = require('node:fs');
const { binaryTarget, buildSidecar, findGo, CliError } = require('../bin/nestjs-xems.js');

try {
  try {
    findGo(process.env.GO || 'go');
  } catch (err) {
    if (err instanceof CliError && existsSync(binaryTarget())) {
      console.log(`build-sidecar: Go is not available; using the existing binary ${binaryTarget()}`);
      process.exit(0);
    }
    throw err;
  }
  buildSidecar();
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  console.error(`build-sidecar: ${err.message}`);
  process.exit(1);
}
