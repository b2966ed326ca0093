import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './binary-locator';
import * as wire from './stdio-protocol.gen';

const root = packageRoot()!;
// The generator and its table are the repository's CommonJS scripts, outside the compiled tree
// (this spec runs from build/src/sidecar): loaded relative to the repository root.
const fromRoot = createRequire(join(root, 'package.json'));
interface Generator {
  render(): Record<string, string>;
  staleFiles(root?: string): string[];
}
const generator = fromRoot('./scripts/generate-protocol.js') as Generator;
const table = fromRoot('./scripts/protocol-table.js') as {
  version: number;
  ops: Record<string, { code: number }>;
  errorCodes: Record<string, number>;
};

describe('the protocol table and its generated files', () => {
  it('every generated file is fresh (run "node scripts/generate-protocol.js" after editing scripts/protocol-table.js)', () => {
    assert.deepEqual(generator.staleFiles(root), []);
  });

  it('the freshness check notices a generated file that differs from the table', () => {
    const copy = mkdtempSync(join(tmpdir(), 'xems-gen-'));
    try {
      const files = Object.keys(generator.render());
      for (const f of files) cpSync(join(root, f), join(copy, f), { recursive: true });
      assert.deepEqual(generator.staleFiles(copy), []);
      const edited = files.find((f) => f.endsWith('stdio_protocol.gen.go'))!;
      const removed = files.find((f) => f.endsWith('codes.gen.go'))!;
      writeFileSync(join(copy, edited), readFileSync(join(copy, edited), 'utf8').replace('= 2', '= 3'));
      rmSync(join(copy, removed));
      assert.deepEqual(generator.staleFiles(copy).sort(), [edited, removed].sort());
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('the TypeScript constants are the table\'s', () => {
    assert.equal(wire.PROTOCOL_VERSION, table.version);
    assert.deepEqual({ ...wire.Op }, Object.fromEntries(Object.entries(table.ops).map(([name, op]) => [name, op.code])));
    assert.deepEqual({ ...wire.ErrorCode }, table.errorCodes);
  });

  it('docs/protocol.md lists every operation and every error code of the table', () => {
    const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
    for (const [name, op] of Object.entries(table.ops)) {
      assert.ok(doc.includes(`| 0x${op.code.toString(16).padStart(2, '0')} | ${name} |`), `op ${name} missing from the docs' table`);
    }
    for (const [name, code] of Object.entries(table.errorCodes)) {
      assert.ok(doc.includes(`| ${code} | ${name} |`), `error ${name} missing from the docs' table`);
    }
  });
});
