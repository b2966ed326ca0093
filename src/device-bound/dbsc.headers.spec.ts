import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttp } from '../../test/support/http-fakes';
import { resolveXemsOptions } from '../xems.resolved-options';
import { boundCookie, challengeHeader, readProof, readSessionIdentifier, registrationHeader, sessionInstructions } from './dbsc.headers';

const options = resolveXemsOptions({ deviceBound: { algorithms: ['ES256'] }, cookie: { sameSite: 'lax' } });
const device = options.deviceBound || assert.fail('deviceBound');
const cookie = options.cookie || assert.fail('cookie');
const JWS = 'eyJh.eyJq.c2ln';

describe('DBSC header fields', () => {
  it('writes the registration offer, the refresh challenge and the session instructions', () => {
    assert.equal(
      registrationHeader(device, 'C'.repeat(22)),
      `(ES256);path="/.well-known/xems/dbsc/register";challenge="${'C'.repeat(22)}"`,
    );
    assert.equal(challengeHeader('c', 'sid'), '"c";id="sid"');
    assert.deepEqual(sessionInstructions(device, cookie, 'sid', 'https://a.test'), {
      session_identifier: 'sid',
      refresh_url: '/.well-known/xems/dbsc/refresh',
      scope: { include_site: false, scope_specification: [], origin: 'https://a.test' },
      credentials: [{ type: 'cookie', name: 'xems_token_bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' }],
    });
  });

  it('gives the bound cookie the token cookie attributes and a Max-Age ending before the deadline', () => {
    assert.equal(boundCookie(device, cookie, 600_000, 0), 'xems_token_bound=600000; Max-Age=540; Path=/; HttpOnly; Secure; SameSite=Lax');
    assert.match(boundCookie(device, cookie, 100, 0), /; Max-Age=1;/, 'never 0 (which would delete it)');
  });

  it('reads a proof and a session identifier as sf-strings, refusing anything else', () => {
    const read = (h: Record<string, string>) => ({ proof: readProof(fakeHttp(h).req), id: readSessionIdentifier(fakeHttp(h).req) });
    assert.deepEqual(read({ 'secure-session-response': `"${JWS}"`, 'sec-secure-session-id': '"abc_-1"' }), { proof: JWS, id: 'abc_-1' });
    assert.deepEqual(read({ 'secure-session-response': JWS }), { proof: JWS, id: undefined });
    for (const bad of ['"a.b"', `"${JWS}=" `, `"${JWS}.x"`, `"${JWS.replace('.', '+')}"`, `"${'a'.repeat(5000)}.b.c"`, '""', `"${JWS}`]) {
      assert.equal(readProof(fakeHttp({ 'secure-session-response': bad }).req), undefined, bad.slice(0, 30));
    }
    for (const bad of ['"a b"', '"a;id=b"', `"${'a'.repeat(65)}"`, '"é"']) {
      assert.equal(readSessionIdentifier(fakeHttp({ 'sec-secure-session-id': bad }).req), undefined, bad);
    }
  });
});
