import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ForbiddenException } from '@nestjs/common';
import { fakeHttp, fakeRequestSessions, fakeSession, httpContext } from '../test/support/http-fakes';
import { CsrfGuard, XemsCsrfFailure } from './csrf.guard';
import type { XemsModuleOptions } from './xems.options';
import { resolveXemsOptions } from './xems.resolved-options';

const CSRF = 'Q2sR0nXr3b9T_-8uVw1y2z';

function guardFor(options: XemsModuleOptions = {}) {
  const resolved = resolveXemsOptions(options);
  const sessions = fakeRequestSessions(resolved);
  const request = (method: string, headers: Record<string, string> = {}, body?: unknown, csrf: string | null = CSRF) => {
    const { req, res } = fakeHttp(headers);
    req.method = method;
    if (body !== undefined) (req as unknown as { body: unknown }).body = body;
    if (csrf !== null) sessions.attach(req, res, fakeSession({ csrfToken: csrf }), { token: 't', via: 'cookie' });
    return httpContext(req, res);
  };
  return { guard: new CsrfGuard(resolved), request, resolved };
}

function refused(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof ForbiddenException && e.getStatus() === 403);
}

describe('CsrfGuard', () => {
  it('lets GET, HEAD, OPTIONS and TRACE through without a token', () => {
    const { guard, request } = guardFor();
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'get']) assert.equal(guard.canActivate(request(m, {}, undefined, null)), true, m);
  });

  it('refuses unsafe methods without a session, without a token, or with a wrong one', () => {
    const { guard, request } = guardFor();
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
      refused(() => guard.canActivate(request(m)));
      refused(() => guard.canActivate(request(m, { 'x-csrf-token': CSRF }, undefined, null)));
      refused(() => guard.canActivate(request(m, { 'x-csrf-token': CSRF.replace('Q', 'R') })));
      refused(() => guard.canActivate(request(m, { 'x-csrf-token': `${CSRF}x` })));
      refused(() => guard.canActivate(request(m, {}, { _csrf: 42 })));
      refused(() => guard.canActivate(request(m, {}, { _csrf: '' })));
    }
  });

  it('accepts the token from the header or the body field, header first', () => {
    const { guard, request } = guardFor();
    assert.equal(guard.canActivate(request('POST', { 'x-csrf-token': CSRF })), true);
    assert.equal(guard.canActivate(request('POST', {}, { _csrf: CSRF })), true);
    refused(() => guard.canActivate(request('POST', { 'x-csrf-token': 'wrong' }, { _csrf: CSRF })));
    refused(() => guard.canActivate(request('POST', {}, Object.create({ _csrf: CSRF }))));
  });

  it('honours custom header and field names', () => {
    const { guard, request } = guardFor({ csrf: { header: 'X-My-Token', field: 'tok' } });
    assert.equal(guard.canActivate(request('POST', { 'x-my-token': CSRF })), true);
    assert.equal(guard.canActivate(request('POST', {}, { tok: CSRF })), true);
    refused(() => guard.canActivate(request('POST', { 'x-csrf-token': CSRF })));
  });

  it('with origins, also requires an allowed Origin (or Referer)', () => {
    const { guard, request } = guardFor({ csrf: { origins: ['https://App.Example.test:443/'] } });
    const ok = { 'x-csrf-token': CSRF };
    assert.equal(guard.canActivate(request('POST', { ...ok, origin: 'https://app.example.test' })), true);
    assert.equal(guard.canActivate(request('POST', { ...ok, referer: 'https://app.example.test/a/b?c' })), true);
    refused(() => guard.canActivate(request('POST', ok)));
    refused(() => guard.canActivate(request('POST', { ...ok, origin: 'http://app.example.test' })));
    refused(() => guard.canActivate(request('POST', { ...ok, origin: 'null', referer: 'https://evil.test/' })));
    refused(() => guard.canActivate(request('POST', { ...ok, referer: 'not a url' })));
  });

  it('reports why through the protected onForbidden', () => {
    const reasons: XemsCsrfFailure[] = [];
    class Recording extends CsrfGuard {
      protected override onForbidden(reason: XemsCsrfFailure): never {
        reasons.push(reason);
        throw new ForbiddenException();
      }
    }
    const { request, resolved } = guardFor({ csrf: { origins: ['https://a.test'] } });
    const guard = new Recording(resolved);
    for (const ctx of [
      request('POST', {}, undefined, null),
      request('POST', { origin: 'https://b.test', 'x-csrf-token': CSRF }),
      request('POST', { origin: 'https://a.test' }),
      request('POST', { origin: 'https://a.test', 'x-csrf-token': 'nope' }),
    ]) {
      assert.throws(() => guard.canActivate(ctx));
    }
    assert.deepEqual(reasons, ['no-session', 'bad-origin', 'missing-token', 'wrong-token']);
  });
});
