import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fakeSession, tokenOf } from '../test/support/http-fakes';
import { SessionLedger, tokenGeneration } from './session-ledger';
import { TOKEN_PATTERN } from './xems.internal-constants';

const at = (generation: number, fields = {}) => fakeSession({ id: 'sid-1', token: tokenOf(generation), ...fields });

describe('SessionLedger', () => {
  it('reads the generation a token carries', () => {
    assert.match(tokenOf(7), TOKEN_PATTERN);
    assert.equal(tokenGeneration(tokenOf(0)), 0);
    assert.equal(tokenGeneration(tokenOf(7)), 7);
    assert.equal(tokenGeneration(tokenOf(0xfffffffe)), 0xfffffffe);
    assert.equal(tokenGeneration('not a token'), -1);
  });

  it('reads the generation from the characters as a decoded buffer would, for any bytes around it', () => {
    for (let i = 0; i < 500; i++) {
      const raw = randomBytes(52);
      const token = raw.toString('base64url');
      assert.equal(tokenGeneration(token), raw.readUInt32BE(16), token);
    }
    // Not base64url where the generation sits: read the way Buffer.from reads it, never a made-up number.
    const odd = tokenOf(7).slice(0, 22) + '.' + tokenOf(7).slice(23);
    assert.equal(tokenGeneration(odd), -1);
  });

  it('keeps the newest token of a session while its requests are in flight, by generation, whatever order the replies came in', () => {
    const ledger = new SessionLedger();
    const slow = ledger.enter(at(1));
    const quick = ledger.enter(at(3));
    ledger.learn(at(2)); // a reply of an older generation arriving late
    assert.equal(slow.newest?.token, tokenOf(3));
    assert.equal(quick, slow, 'one entry per session');
    ledger.leave(quick);
    ledger.enter(at(2)); // a request that got generation 2 (in grace) still sees 3
    assert.equal(slow.newest?.token, tokenOf(3));
    assert.equal(ledger.size, 1);
  });

  it('forgets a session once none of its requests is in flight, and learns nothing about sessions with none', () => {
    const ledger = new SessionLedger();
    const a = ledger.enter(at(1));
    const b = ledger.enter(at(1));
    ledger.leave(a);
    assert.equal(ledger.size, 1);
    ledger.leave(b);
    assert.equal(ledger.size, 0);
    ledger.learn(at(5));
    assert.equal(ledger.size, 0);
    assert.equal(ledger.enter(at(2)).newest?.token, tokenOf(2), 'a new entry starts from what it is given');
  });

  it('keys sessions by sandbox and id', () => {
    const ledger = new SessionLedger();
    const one = ledger.enter(at(1));
    const other = ledger.enter(at(9, { sandbox: 'admin' }));
    const third = ledger.enter(at(9, { id: 'sid-2' }));
    assert.equal(one.newest?.token, tokenOf(1));
    assert.notEqual(other, one);
    assert.notEqual(third, one);
  });

  it('the same token again refreshes when it was learned (the Redis refresh confirms the current token)', async () => {
    const ledger = new SessionLedger();
    const entry = ledger.enter(at(4));
    const first = entry.learnedAt;
    await new Promise((r) => setTimeout(r, 5));
    const fresher = at(4, { expiresAt: 123 });
    ledger.learn(fresher);
    assert.ok(entry.learnedAt > first);
    assert.equal(entry.newest, fresher);
  });

  it('a session ended here stays ended for its requests in flight (they write no token, never a successor)', () => {
    const ledger = new SessionLedger();
    const entry = ledger.enter(at(1));
    ledger.end('s', 'sid-1');
    assert.equal(entry.newest, null);
    ledger.learn(at(2));
    assert.equal(ledger.enter(at(3)).newest, null, 'a later reply does not revive it');
    ledger.end('s', 'unknown'); // nothing in flight: nothing to do
  });
});
