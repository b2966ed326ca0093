import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusesOptions as refuses } from '../../test/support/config-errors';
import { resolveXemsOptions } from '../xems.resolved-options';

describe('deviceBound options', () => {
  it('is off by default; {} turns it on with every default, durations in ms', () => {
    assert.equal(resolveXemsOptions({}).deviceBound, false);
    assert.deepEqual(resolveXemsOptions({ deviceBound: {} }).deviceBound, {
      registrationPath: '/.well-known/xems/dbsc/register',
      refreshPath: '/.well-known/xems/dbsc/refresh',
      lifetime: 600_000,
      cookieName: 'xems_token_bound',
      algorithms: ['ES256', 'RS256'],
    });
    assert.equal(
      (resolveXemsOptions({ deviceBound: { lifetime: '30s', algorithms: ['ES256'] } }).deviceBound || undefined)?.lifetime,
      30_000,
    );
  });

  it('refuses what would be ignored or unsafe, naming the field', () => {
    refuses({ deviceBound: { algorithms: ['none'] } }, 'deviceBound.algorithms');
    refuses({ deviceBound: { algorithms: [] } }, 'deviceBound.algorithms');
    refuses({ deviceBound: { algorithms: ['ES256', 'ES256'] } }, 'deviceBound.algorithms');
    refuses({ deviceBound: { algorithms: 'ES256' } }, 'deviceBound.algorithms');
    refuses({ deviceBound: { lifetime: 500 } }, 'deviceBound.lifetime');
    refuses({ deviceBound: { lifetime: '2d' } }, 'deviceBound.lifetime');
    refuses({ deviceBound: { registrationPath: 'dbsc' } }, 'deviceBound.registrationPath');
    refuses({ deviceBound: { refreshPath: '/a?b' } }, 'deviceBound.refreshPath');
    refuses({ deviceBound: { refreshPath: '/.well-known/xems/dbsc/register' } }, 'deviceBound.refreshPath');
    refuses({ deviceBound: { cookieName: 'xems_token' } }, 'deviceBound.cookieName');
    refuses({ deviceBound: { cookieName: 'a;b' } }, 'deviceBound.cookieName');
    refuses({ deviceBound: {}, cookie: false }, 'deviceBound');
    refuses({ deviceBound: { unknown: 1 } }, 'deviceBound.unknown');
  });
});
