import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TOKEN_PATTERN, isTokenShaped } from './token-shape';

describe('isTokenShaped', () => {
  it('accepts what TOKEN_PATTERN accepts and refuses what it refuses', () => {
    const good = randomBytes(52).toString('base64url');
    const cases: unknown[] = [
      good,
      'A'.repeat(70),
      '-_'.repeat(35),
      good.slice(1),
      good + 'A',
      good.slice(0, 69) + '=',
      good.slice(0, 69) + '+',
      good.slice(0, 69) + '/',
      good.slice(0, 35) + ' ' + good.slice(36),
      good.slice(0, 69) + '\u00e9',
      good.slice(0, 69) + '\u0100',
      good.slice(0, 68) + '\ud83d\ude00', // 70 UTF-16 units, not base64url
      good + '\n',
      '',
      undefined,
      null,
      42,
      { length: 70 },
    ];
    for (let i = 0; i < 200; i++) cases.push(randomBytes(52).toString('base64url'));
    for (const c of cases) {
      assert.equal(isTokenShaped(c), typeof c === 'string' && TOKEN_PATTERN.test(c), JSON.stringify(c));
    }
  });

  it('refuses every character outside base64url at every position', () => {
    const good = 'A'.repeat(70);
    for (let code = 0; code < 0x180; code++) {
      const ch = String.fromCharCode(code);
      const expected = /[A-Za-z0-9_-]/.test(ch);
      for (const at of [0, 35, 69]) {
        const token = good.slice(0, at) + ch + good.slice(at + 1);
        assert.equal(isTokenShaped(token), expected, `char ${code} at ${at}`);
      }
    }
  });
});
