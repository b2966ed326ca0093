#!/usr/bin/env node
'use strict';
// Generates both sides' protocol definitions from scripts/protocol-table.js:
//   src/sidecar/stdio-protocol.gen.ts               constants, request encoders, reply decoders
//                                                   (protocol-emit-ts.js)
//   sidecar/internal/protocol/stdio_protocol.gen.go constants, request decoder, reference encoder,
//                                                   reply layout check (tests) (protocol-emit-go.js)
//   sidecar/internal/xerr/codes.gen.go               error codes (protocol-emit-go.js)
// protocol-layout.js reads the table for both emitters and checks it.
// Usage: node scripts/generate-protocol.js [--check]. With --check nothing is written; the exit
// code is 1 when a generated file differs from what the table gives (it is stale).
const { readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { checkTable } = require('./protocol-layout');
const { renderGo, renderXerr } = require('./protocol-emit-go');
const { renderTs } = require('./protocol-emit-ts');

const ROOT = join(__dirname, '..');
const OUTPUTS = {
  ts: 'src/sidecar/stdio-protocol.gen.ts',
  go: 'sidecar/internal/protocol/stdio_protocol.gen.go',
  xerr: 'sidecar/internal/xerr/codes.gen.go',
};

/** The generated files, by path relative to the repository root. */
function render() {
  checkTable();
  return { [OUTPUTS.ts]: renderTs(), [OUTPUTS.go]: renderGo(), [OUTPUTS.xerr]: renderXerr() };
}

/** Paths (relative to root) whose content differs from what the table gives. */
function staleFiles(root = ROOT) {
  return Object.entries(render())
    .filter(([path, text]) => {
      try {
        return readFileSync(join(root, path), 'utf8') !== text;
      } catch {
        return true;
      }
    })
    .map(([path]) => path);
}

function main(argv) {
  if (argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length) {
      console.error(
        `generate-protocol: stale generated files (run "node scripts/generate-protocol.js"):\n${stale.map((p) => `  ${p}`).join('\n')}`,
      );
      return 1;
    }
    return 0;
  }
  for (const [path, text] of Object.entries(render())) {
    const full = join(ROOT, path);
    let old;
    try {
      old = readFileSync(full, 'utf8');
    } catch {
      old = undefined;
    }
    if (old !== text) {
      writeFileSync(full, text);
      console.log(`generate-protocol: wrote ${relative(ROOT, full)}`);
    }
  }
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = { render, staleFiles, OUTPUTS };
