import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ASSURANCE_CEILINGS, isFreshEnough, isPastCeiling, stepUpChallenge } from './auth-freshness';
import { XEMS_AUTH_METHODS, authMethodBits, authMethodNames, authenticationOf } from './auth-methods';
import { XemsValidationError } from './xems.errors';
import { resolveXemsOptions } from './xems.resolved-options';
import { XemsConfigError } from './xems.errors';

describe('fresh authentication rules', () => {
  const auth = { authenticatedAt: 1_000_000, methods: ['pwd' as const, 'otp' as const] };
  const cases: Array<[string, Parameters<typeof isFreshEnough>[1], number, boolean]> = [
    ['just authenticated', { maxAgeMs: 600_000, methods: [] }, 1_000_000, true],
    ['at the limit', { maxAgeMs: 600_000, methods: [] }, 1_600_000, true],
    ['one ms past it', { maxAgeMs: 600_000, methods: [] }, 1_600_001, false],
    ['a clock behind the record', { maxAgeMs: 1, methods: [] }, 999_000, true],
    ['a method it has', { maxAgeMs: 600_000, methods: ['otp'] }, 1_000_001, true],
    ['every method it has', { maxAgeMs: 600_000, methods: ['pwd', 'otp'] }, 1_000_001, true],
    ['a method it lacks', { maxAgeMs: 600_000, methods: ['webauthn'] }, 1_000_001, false],
    ['one of two methods', { maxAgeMs: 600_000, methods: ['pwd', 'webauthn'] }, 1_000_001, false],
  ];
  for (const [name, requirement, now, fresh] of cases) {
    it(name, () => assert.equal(isFreshEnough(auth, requirement, now), fresh));
  }

  it('a session without an authentication record is never fresh', () => {
    assert.equal(isFreshEnough(undefined, { maxAgeMs: 5 * 86_400_000, methods: [] }, 1), false);
  });

  it('the challenge is RFC 9470 style, max_age in whole seconds', () => {
    assert.equal(
      stepUpChallenge({ maxAgeMs: 600_000, methods: [] }),
      'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=600',
    );
    assert.match(stepUpChallenge({ maxAgeMs: 2500, methods: [] }), /max_age=2$/);
  });

  it('the ceiling ends authenticated sessions only, and only past maxAge', () => {
    assert.equal(isPastCeiling(auth, 0, 9e12), false, 'no ceiling');
    assert.equal(isPastCeiling(auth, 1000, 1_001_000), false);
    assert.equal(isPastCeiling(auth, 1000, 1_001_001), true);
    assert.equal(isPastCeiling(undefined, 1000, 9e12), false, 'an anonymous session');
  });
});

describe('authentication methods', () => {
  it('round-trips every name through its bit', () => {
    for (const m of XEMS_AUTH_METHODS) assert.deepEqual(authMethodNames(authMethodBits([m], 'x')), [m]);
    assert.deepEqual(authMethodNames(authMethodBits(['webauthn', 'pwd'], 'x')), ['pwd', 'webauthn']);
    assert.equal(authMethodBits(undefined, 'x'), 0);
    assert.equal(authMethodBits([], 'x'), 0);
  });

  it('refuses unknown names, other types and upper case with a typed error', () => {
    for (const bad of [['password'], ['PWD'], [1], 'pwd', {}, Array.from({ length: 40 }, () => 'pwd')]) {
      assert.throws(
        () => authMethodBits(bad, 'link()'),
        (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_AUTH_METHODS' && /link\(\)/.test(e.message),
      );
    }
  });

  it('reads a sidecar record; authAt 0 is none', () => {
    assert.equal(authenticationOf({ authAt: 0, authMethods: 0 }), undefined);
    assert.deepEqual(authenticationOf({ authAt: 5, authMethods: 3 }), { authenticatedAt: 5, methods: ['pwd', 'otp'] });
  });
});

describe('reauthentication ceilings (NIST SP 800-63B-4 presets)', () => {
  it('the presets are the numbers of Sec. 2.1.3, 2.2.3 and 2.3.3', () => {
    assert.deepEqual(ASSURANCE_CEILINGS.AAL1, { maxAgeMs: 30 * 86_400_000, idleMs: 0 });
    assert.deepEqual(ASSURANCE_CEILINGS.AAL2, { maxAgeMs: 24 * 3_600_000, idleMs: 3_600_000 });
    assert.deepEqual(ASSURANCE_CEILINGS.AAL3, { maxAgeMs: 12 * 3_600_000, idleMs: 900_000 });
  });

  it('an assurance level sets maxAge and the idle timeout; explicit options win', () => {
    const aal3 = resolveXemsOptions({ reauthentication: { assuranceLevel: 'AAL3' } });
    assert.deepEqual(aal3.reauthentication, { maxAgeMs: 12 * 3_600_000 });
    assert.equal(aal3.idleTimeout, 900_000);
    const aal1 = resolveXemsOptions({ reauthentication: { assuranceLevel: 'AAL1' } });
    assert.equal(aal1.idleTimeout, false, 'AAL1 requires no idle timeout');
    const own = resolveXemsOptions({ reauthentication: { assuranceLevel: 'AAL2', maxAge: '8h' }, idleTimeout: '10m' });
    assert.deepEqual(own.reauthentication, { maxAgeMs: 8 * 3_600_000 });
    assert.equal(own.idleTimeout, 600_000);
    assert.deepEqual(resolveXemsOptions({}).reauthentication, { maxAgeMs: 0 }, 'off by default');
  });

  it('refuses an unknown level, a bad maxAge and a bad freshAuthMaxAge naming the option', () => {
    const bad: Array<[object, string]> = [
      [{ reauthentication: { assuranceLevel: 'AAL4' } }, 'reauthentication.assuranceLevel'],
      [{ reauthentication: { maxAge: '31d' } }, 'reauthentication.maxAge'],
      [{ reauthentication: { maxAge: 'soon' } }, 'reauthentication.maxAge'],
      [{ freshAuthMaxAge: 0 }, 'freshAuthMaxAge'],
    ];
    for (const [options, field] of bad) {
      assert.throws(
        () => resolveXemsOptions(options as never),
        (e: unknown) => e instanceof XemsConfigError && e.field === field,
        field,
      );
    }
  });
});
