import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsValidationError } from './xems.errors';
import { assertSandbox } from './xems.validation';

describe('assertSandbox', () => {
  it('refuses a bad name right after a good one was accepted (the last good name is remembered, nothing else)', () => {
    const refuses = (v: unknown) =>
      assert.throws(
        () => assertSandbox(v),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_SANDBOX',
      );
    assertSandbox('app.v1');
    assertSandbox('app.v1');
    refuses('app.v1 ');
    refuses({ toString: () => 'app.v1' });
    refuses(['app.v1']);
    refuses('');
    refuses('x'.repeat(65));
    assertSandbox('x'.repeat(64));
    refuses('bad/name');
    assertSandbox('app.v1');
  });
});
