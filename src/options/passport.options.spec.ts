import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsConfigError } from '../xems.errors';
import { resolveXemsOptions } from '../xems.resolved-options';

const refused = (field: string) => (e: unknown) => e instanceof XemsConfigError && e.field === field && e.hint.length > 0;

describe('passport option', () => {
  it('off by default; true is { property: "user" } with the data itself', () => {
    assert.equal(resolveXemsOptions({}).passport, false);
    assert.deepEqual(resolveXemsOptions({ passport: true }).passport, { property: 'user' });
    const from = (data: unknown) => data;
    assert.deepEqual(resolveXemsOptions({ passport: { property: 'account', from } }).passport, { property: 'account', from });
  });

  it('refuses a property the request owns, a name that is not one, and a from that is not a function', () => {
    assert.throws(() => resolveXemsOptions({ passport: { property: 'headers' } }), refused('passport.property'));
    assert.throws(() => resolveXemsOptions({ passport: { property: 'session' } }), refused('passport.property'));
    assert.throws(() => resolveXemsOptions({ passport: { property: 'a b' } }), refused('passport.property'));
    assert.throws(() => resolveXemsOptions({ passport: { from: 'user' as never } }), refused('passport.from'));
    assert.throws(() => resolveXemsOptions({ passport: 'yes' as never }), refused('passport'));
    assert.throws(() => resolveXemsOptions({ passport: { strategy: 'local' } as never }), refused('passport.strategy'));
  });
});
