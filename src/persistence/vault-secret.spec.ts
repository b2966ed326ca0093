import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { DOCUMENTED_EXAMPLE_SECRETS, VaultSecretProblem, parseVaultSecret } from './vault-secret';

function problem(value: unknown): string {
  try {
    parseVaultSecret(value);
  } catch (err) {
    assert.ok(err instanceof VaultSecretProblem, `expected VaultSecretProblem, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected ${inspect(value)} to be refused`);
}

const good = randomBytes(32);

describe('parseVaultSecret', () => {
  it('accepts the four forms and yields the same 32 bytes', () => {
    assert.deepEqual(parseVaultSecret(good).bytes(), good);
    assert.deepEqual(parseVaultSecret(`hex:${good.toString('hex')}`).bytes(), good);
    assert.deepEqual(parseVaultSecret(`base64:${good.toString('base64')}`).bytes(), good);
    assert.deepEqual(parseVaultSecret(`base64:${good.toString('base64url')}`).bytes(), good);
    const text = 'Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3$';
    assert.deepEqual(parseVaultSecret(text).bytes(), Buffer.from(text));
    assert.deepEqual(parseVaultSecret(new Uint8Array(good)).bytes(), good);
  });

  it('refuses other lengths, saying the length and never echoing the secret', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3', /is 31 characters long; it must be exactly 32 characters/],
      ['Qm7#vR2kT9!xLp4@Zs8^Wd1&Hc6*Jn3$X', /is 33 characters long; it must be exactly 32 characters/],
      [randomBytes(31), /is 31 bytes long; it must be exactly 32 bytes/],
      [randomBytes(33), /is 33 bytes long; it must be exactly 32 bytes/],
      [`hex:${randomBytes(31).toString('hex')}`, /"hex:" text decodes to 31 bytes/],
      [`base64:${randomBytes(33).toString('base64')}`, /"base64:" text decodes to 33 bytes/],
      ['hex:zz', /not hex digits/],
      ['base64:***', /not base64/],
      ['é'.repeat(32), /must be ASCII: 32 characters take 64 bytes/],
      [42, /got number/],
      [null, /got null/],
    ];
    for (const [value, message] of cases) {
      const text = problem(value);
      assert.match(text, message);
      if (typeof value === 'string' && value.length > 8) assert.ok(!text.includes(value.slice(4)), 'the secret is not echoed');
    }
  });

  it('refuses weak secrets, each with its own message', () => {
    assert.match(problem('a'.repeat(32)), /one character repeated 32 times/);
    assert.match(problem(Buffer.alloc(32, 7)), /one byte repeated 32 times/);
    assert.match(problem('abcd'.repeat(8)), /repeats a pattern of 4 characters/);
    assert.match(problem('0123456789abcdef'.repeat(2)), /repeats a pattern of 16 characters/);
    assert.match(problem(`hex:${'00ff'.repeat(16)}`), /repeats a pattern of 2 bytes/);
    assert.match(problem('abcabcabcabcabcabcabcabcabcabcXY'), /only 5 different characters/);
    for (const example of DOCUMENTED_EXAMPLE_SECRETS) {
      assert.match(problem(example), /example secret printed in the nestjs-xems documentation/);
    }
    // The same bytes in another form are the same example.
    const b64 = DOCUMENTED_EXAMPLE_SECRETS.find((s) => s.startsWith('base64:'))!;
    const hex = `hex:${Buffer.from(b64.slice(7), 'base64').toString('hex')}`;
    assert.match(problem(hex), /example secret/);
  });

  it('never prints the secret (JSON, inspect, String)', () => {
    const secret = parseVaultSecret(good);
    const hex = good.toString('hex');
    for (const shown of [JSON.stringify({ secret }), inspect({ secret }), String(secret), `${secret}`]) {
      assert.ok(!shown.includes(hex) && !shown.includes(good.toString('base64')), shown);
      assert.match(shown, /\[vault secret\]/);
    }
  });

  it('every secret printed in the README and docs is in the refused examples', () => {
    const root = join(__dirname, '..', '..', '..');
    const files = [
      join(root, 'README.md'),
      ...readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(root, 'docs', f)),
    ];
    const found = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(base64:[A-Za-z0-9+/_-]{43}=?|hex:[0-9a-fA-F]{64})/g)) found.add(m[1]);
      for (const m of text.matchAll(/secret: '([^']{32})'/g)) found.add(m[1]);
      for (const m of text.matchAll(/XEMS_SECRET=["']?([^\s"'$]{32,})/g)) found.add(m[1]);
    }
    assert.ok(found.size >= 2, `expected the docs to show example secrets, found ${[...found].join(', ')}`);
    for (const secret of found) {
      assert.ok(
        DOCUMENTED_EXAMPLE_SECRETS.includes(secret),
        `${secret} is printed in the docs but not refused: add it to DOCUMENTED_EXAMPLE_SECRETS`,
      );
    }
  });
});
