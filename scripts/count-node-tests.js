#!/usr/bin/env node
// Sums the closing summaries of Node's test runner ("# pass N" / "# fail N" with the TAP
// reporter, "ℹ pass N" / "ℹ fail N" with the spec reporter) in a log.
// Prints "<passed> <failed>". Used by .ci/run to sum every suite into one line.
'use strict';
const fs = require('node:fs');

const text = fs.readFileSync(process.argv[2], 'utf8');
const sum = (word) => {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^(?:#|ℹ) ${word} (\\d+)$`, 'gm'))) total += Number(m[1]);
  return total;
};
process.stdout.write(`${sum('pass')} ${sum('fail')}\n`);
