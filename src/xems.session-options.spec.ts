import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusesOptions as refuses } from '../test/support/config-errors';
import { isBindingOn } from './options/binding.options';
import { resolveXemsOptions } from './xems.resolved-options';

describe('session feature options', () => {
  it('accepts and resolves them', () => {
    const o = resolveXemsOptions({
      idleTimeout: '15m',
      maxSessionsPerUser: 3,
      onLimit: 'reject',
      binding: { ip: 'subnet', userAgent: true, onMismatch: 'log' },
      csrf: { header: 'X-Token', field: 'tok', origins: ['https://App.example.com', 'http://localhost:3000/'] },
      expressHelpers: true,
    });
    assert.equal(o.idleTimeout, 900_000);
    assert.equal(o.maxSessionsPerUser, 3);
    assert.equal(o.onLimit, 'reject');
    assert.deepEqual(o.binding, { ip: 'subnet', userAgent: true, onMismatch: 'log' });
    assert.equal(isBindingOn(o.binding), true);
    assert.deepEqual(o.csrf, { header: 'x-token', field: 'tok', origins: ['https://app.example.com', 'http://localhost:3000'] });
    assert.equal(o.expressHelpers, true);
    assert.equal(resolveXemsOptions({ idleTimeout: false }).idleTimeout, false);
    assert.equal(isBindingOn(resolveXemsOptions({ binding: { userAgent: false } }).binding), false);
    assert.equal(resolveXemsOptions({ binding: { ip: 'exact' } }).binding.onMismatch, 'revoke');
  });

  it('refuses bad values, naming the field', () => {
    refuses({ idleTimeout: '10x' }, 'idleTimeout', /not a duration/);
    refuses({ idleTimeout: '6d' }, 'idleTimeout');
    refuses({ idleTimeout: 0 }, 'idleTimeout');
    refuses({ idleTimeout: true }, 'idleTimeout');
    refuses({ maxSessionsPerUser: -1 }, 'maxSessionsPerUser');
    refuses({ maxSessionsPerUser: 1.5 }, 'maxSessionsPerUser');
    refuses({ onLimit: 'oldest' }, 'onLimit', /evict-oldest/);
    refuses({ binding: { ip: 'on' } }, 'binding.ip');
    refuses({ binding: { userAgent: 'yes' } }, 'binding.userAgent');
    refuses({ binding: { onMismatch: 'ignore' } }, 'binding.onMismatch');
    refuses({ binding: { typo: 1 } }, 'binding.typo', /not a known option/);
    refuses({ binding: 'subnet' }, 'binding', /object/);
    refuses({ csrf: { header: 'bad header' } }, 'csrf.header');
    refuses({ csrf: { field: '' } }, 'csrf.field');
    refuses({ csrf: { origins: [] } }, 'csrf.origins', /empty/);
    refuses({ csrf: { origins: 'https://a.test' } }, 'csrf.origins');
    refuses({ csrf: { origins: ['https://a.test/path'] } }, 'csrf.origins[0]', /not an origin/);
    refuses({ csrf: { origins: ['ftp://a.test'] } }, 'csrf.origins[0]');
    refuses({ csrf: { origins: ['https://a.test', 'nope'] } }, 'csrf.origins[1]');
    refuses({ expressHelpers: 'yes' }, 'expressHelpers');
  });
});
