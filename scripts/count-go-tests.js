#!/usr/bin/env node
// Counts passed and failed tests (subtests included) in `go test -json` output.
// Prints "<passed> <failed>". Used by .ci/run to sum every suite into one line.
'use strict';
const fs = require('node:fs');

const file = process.argv[2];
let passed = 0;
let failed = 0;
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (!line.startsWith('{')) continue;
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    continue;
  }
  if (!event.Test) continue; // package-level results are not tests
  if (event.Action === 'pass') passed++;
  else if (event.Action === 'fail') failed++;
}
process.stdout.write(`${passed} ${failed}\n`);
