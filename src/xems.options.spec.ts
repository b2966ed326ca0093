import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsPersistenceOptions } from './persistence/persistence.options';
import { XemsBindingOptions } from './options/binding.options';
import { XemsCookieOptions } from './options/cookie.options';
import { XemsCsrfOptions } from './options/csrf.options';
import { XemsModuleOptions } from './xems.options';
import { optionDefaults } from './options/options-validation';
import { type ResolvedXemsOptions, resolveXemsOptions } from './xems.resolved-options';
import { XemsSidecarOptions } from './options/sidecar.options';
import { XEMS_DEFAULTS } from './xems.option-defaults';

describe('options classes', () => {
  it('carry their defaults (a new instance holds them, nested options as instances of their class)', () => {
    const o = new XemsModuleOptions();
    assert.equal(o.sandbox, 'xems.session');
    assert.equal(o.ttl, '1h');
    assert.equal(o.gracePeriod, 2000);
    assert.ok(o.cookie instanceof XemsCookieOptions && o.binding instanceof XemsBindingOptions && o.csrf instanceof XemsCsrfOptions);
    assert.ok(o.sidecar instanceof XemsSidecarOptions && o.persistence instanceof XemsPersistenceOptions);
    assert.equal(new XemsCookieOptions().sameSite, 'strict');
    assert.equal(new XemsCookieOptions().domain, undefined);
    assert.equal(new XemsSidecarOptions().requestTimeout, 2000);
    assert.equal(new XemsPersistenceOptions().fsync, 'everysec');
  });

  it('XEMS_DEFAULTS is read from the classes', () => {
    const fromClasses = optionDefaults(XemsModuleOptions) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(fromClasses)) {
      if (key === 'store' || key === 'hardwareBinding') continue; // their defaults live with their resolvers (store.options, persistence.options)
      assert.deepEqual((XEMS_DEFAULTS as unknown as Record<string, unknown>)[key], value, key);
    }
    assert.equal(XEMS_DEFAULTS.cookie.name, 'xems_token');
    assert.equal(XEMS_DEFAULTS.store.keyPrefix, 'xems:');
    assert.equal(XEMS_DEFAULTS.expressSession.sandbox, 'express-session');
  });

  it('derive the resolved type: durations in milliseconds, options without a default stay optional (compile-time checks)', () => {
    const o: ResolvedXemsOptions = resolveXemsOptions({ idleTimeout: '30m', cookie: { domain: 'example.test' } });
    const ttl: number = o.ttl;
    const idle: number | false = o.idleTimeout;
    const requestTimeout: number = o.sidecar.requestTimeout;
    const cookieName: string | undefined = o.cookie === false ? undefined : o.cookie.name;
    // @ts-expect-error: cookie.domain has no default, so it may be undefined once resolved
    const domain: string = o.cookie === false ? '' : o.cookie.domain;
    // @ts-expect-error: a resolved duration is a number, never a string such as '1h'
    const text: string = o.gracePeriod;
    assert.deepEqual(
      [ttl, idle, requestTimeout, cookieName, domain, text],
      [3_600_000, 1_800_000, 2000, 'xems_token', 'example.test', 2000],
    );
  });
});
