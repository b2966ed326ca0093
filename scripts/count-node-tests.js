#!/usr/bin/env node
// Reads the closing summaries of Node's test runner in a log and prints "<passed> <failed>".
// scripts/run-tests.js prints the spec reporter's summary ("ℹ pass N") and then the TAP one
// ("# pass N") for the same run, so only one kind is summed: TAP when present, else spec.
// Cancelled tests (a hook or the file itself failed) count as failed. Used by .ci/run.
'use strict';
const fs = require('node:fs');

const text = fs.readFileSync(process.argv[2], 'utf8');
const marker = /^# pass \d+$/m.test(text) ? '#' : 'ℹ';
const sum = (word) => {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${marker} ${word} (\\d+)$`, 'gm'))) total += Number(m[1]);
  return total;
};
process.stdout.write(`${sum('pass')} ${sum('fail') + sum('cancelled')}\n`);
