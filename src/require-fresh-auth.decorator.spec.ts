import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { RequireFreshAuth } from './require-fresh-auth.decorator';
import { SessionGuard } from './session.guard';
import { XEMS_FRESH_AUTH_METADATA } from './xems.constants';
import { XemsConfigError } from './xems.errors';

describe('@RequireFreshAuth', () => {
  it('records the age in ms and the methods, and applies SessionGuard', () => {
    class C {
      handler() {}
    }
    const d = Object.getOwnPropertyDescriptor(C.prototype, 'handler')!;
    RequireFreshAuth('10m', { methods: ['webauthn'] })(C.prototype, 'handler', d);
    assert.deepEqual(Reflect.getMetadata(XEMS_FRESH_AUTH_METADATA, d.value), { maxAgeMs: 600_000, methods: ['webauthn'] });
    assert.deepEqual(Reflect.getMetadata(GUARDS_METADATA, d.value), [SessionGuard]);
    RequireFreshAuth()(C);
    assert.deepEqual(Reflect.getMetadata(XEMS_FRESH_AUTH_METADATA, C), { maxAgeMs: undefined, methods: [] });
  });

  it('refuses a bad duration or method when the class is declared', () => {
    for (const [age, methods] of [
      ['soon', undefined],
      [0, undefined],
      ['6d', undefined],
      ['1m', ['password']],
    ] as const) {
      assert.throws(
        () => RequireFreshAuth(age as never, { methods: methods as never }),
        (e: unknown) => e instanceof XemsConfigError && e.field.startsWith('@RequireFreshAuth()'),
      );
    }
  });
});
