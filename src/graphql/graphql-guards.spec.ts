import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { firstValueFrom, lastValueFrom, defer, of, throwError } from 'rxjs';
import { resolverContext } from '../../test/support/graphql-fakes';
import { fakeHttp, fakeRequestSessions, fakeSession, flushHeaders, setCookies } from '../../test/support/http-fakes';
import { CsrfGuard } from '../csrf.guard';
import { RequireFreshAuth } from '../require-fresh-auth.decorator';
import { HttpPlatformHost } from '../platform/platform-host';
import { RequestSessions } from '../request-session';
import { SessionLedger } from '../session-ledger';
import { SessionGuard } from '../session.guard';
import { selectSessionContext, selectSessionData } from '../session.decorator';
import { SidecarOutageInterceptor } from '../sidecar-outage.interceptor';
import { TokenTransport } from '../token-transport';
import { xemsRequestContext } from '../xems.context';
import { XemsGraphqlContextError, XemsTimeoutError } from '../xems.errors';
import { resolveXemsOptions } from '../xems.resolved-options';
import type { XemsService } from '../xems.service';
import type { XemsSessions } from '../xems.sessions';
import { XemsGraphqlFreshAuthRequiredError, XemsGraphqlUnavailableError } from './graphql-errors';

const T1 = 'a'.repeat(70);
const T2 = 'b'.repeat(70);
const CSRF = 'Q2sR0nXr3b9T_-8uVw1y2z';
const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }).extensions?.code;

/** A SessionGuard over a fake resolve() that counts its calls. */
function guardWith(resolve: () => Promise<unknown>) {
  const resolved = resolveXemsOptions({});
  let calls = 0;
  const sessions = { resolve: () => (calls++, resolve()) } as unknown as XemsSessions;
  const transport = new TokenTransport(resolved);
  const requestSessions = new RequestSessions(resolved, transport, new SessionLedger(), sessions, new HttpPlatformHost());
  const guard = new SessionGuard(resolved, sessions, transport, requestSessions, new Reflector());
  return { guard, calls: () => calls };
}

describe('SessionGuard in a resolver', () => {
  it('attaches the session from the GraphQL context request, and the response carries the successor', async () => {
    const { guard } = guardWith(async () => fakeSession({ sandbox: 'xems.session', token: T2, data: { user: 'ann' } }));
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    const ctx = resolverContext({ req, res });
    assert.equal(await guard.canActivate(ctx), true);
    assert.deepEqual(selectSessionData(undefined, ctx), { user: 'ann' });
    assert.equal(selectSessionContext(undefined, ctx)?.sandbox, 'xems.session');
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${T2};`));
  });

  it('no token: UnauthorizedException with extensions.code UNAUTHENTICATED and a one-line stack', async () => {
    const { guard, calls } = guardWith(async () => null);
    const { req, res } = fakeHttp();
    await assert.rejects(guard.canActivate(resolverContext({ req, res })), (error: unknown) => {
      assert.ok(error instanceof UnauthorizedException);
      assert.equal(codeOf(error), 'UNAUTHENTICATED');
      assert.equal(error.stack?.includes('\n'), false);
      return true;
    });
    assert.equal(calls(), 0);
  });

  it('a context without res: XemsGraphqlContextError before the token is resolved (nothing rotated and lost)', async () => {
    const { guard, calls } = guardWith(async () => fakeSession({ token: T2 }));
    const { req } = fakeHttp({ cookie: `xems_token=${T1}` });
    await assert.rejects(guard.canActivate(resolverContext({ req })), XemsGraphqlContextError);
    assert.equal(calls(), 0);
  });

  it('a sidecar outage: XemsGraphqlUnavailableError (SERVICE_UNAVAILABLE) and Retry-After on the response', async () => {
    const { guard } = guardWith(async () => {
      throw new XemsTimeoutError('S_RESOLVE', 2000);
    });
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await assert.rejects(guard.canActivate(resolverContext({ req, res })), (error: unknown) => {
      assert.ok(error instanceof XemsGraphqlUnavailableError);
      assert.equal(codeOf(error), 'SERVICE_UNAVAILABLE');
      return true;
    });
    assert.equal(res.getHeader('retry-after'), '1');
  });
});

describe('@RequireFreshAuth on a resolver', () => {
  class StepUpResolver {
    @RequireFreshAuth('5m', { methods: ['webauthn'] })
    passkeyOnly() {}
  }
  const stale = { authenticatedAt: Date.now() - 3_600_000, methods: ['webauthn' as const] };

  it('an old authentication: extensions.code XEMS_FRESH_AUTH_REQUIRED with maxAge and methods (not UNAUTHENTICATED), the challenge and the successor on the response', async () => {
    const { guard } = guardWith(async () => fakeSession({ token: T2, auth: stale }));
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    const ctx = resolverContext({ req, res }, 'query', StepUpResolver.prototype.passkeyOnly, StepUpResolver);
    await assert.rejects(guard.canActivate(ctx), (error: unknown) => {
      assert.ok(error instanceof XemsGraphqlFreshAuthRequiredError);
      assert.deepEqual(error.extensions, { code: 'XEMS_FRESH_AUTH_REQUIRED', maxAge: 300, methods: ['webauthn'] });
      assert.equal(error.stack, `FreshAuthRequired: ${error.message}`, 'a one-line stack naming no class of the library');
      return true;
    });
    assert.match(String(res.getHeader('www-authenticate')), /error="insufficient_user_authentication".*max_age=300/);
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${T2};`), 'the session stays: the response carries its current token');
  });

  it('a recent authentication by another method is refused the same way; by the method it passes', async () => {
    const recent = (methods: ('pwd' | 'webauthn')[]) => async () =>
      fakeSession({ token: T2, auth: { authenticatedAt: Date.now(), methods } });
    for (const [methods, passes] of [
      [['pwd'], false],
      [['pwd', 'webauthn'], true],
    ] as const) {
      const { guard } = guardWith(recent([...methods]));
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      const outcome = guard.canActivate(resolverContext({ req, res }, 'query', StepUpResolver.prototype.passkeyOnly, StepUpResolver));
      if (passes) assert.equal(await outcome, true, String(methods));
      else await assert.rejects(outcome, XemsGraphqlFreshAuthRequiredError, String(methods));
    }
  });
});

describe('CsrfGuard in a resolver', () => {
  function contextFor(operation: string, headers: Record<string, string> = {}) {
    const { req, res } = fakeHttp(headers);
    req.method = 'POST'; // GraphQL clients POST queries and mutations alike
    fakeRequestSessions().attach(req, res, fakeSession({ csrfToken: CSRF }), { token: T1, via: 'cookie' });
    return resolverContext({ req, res }, operation);
  }
  const guard = new CsrfGuard(resolveXemsOptions({}));

  it('the operation decides, not the method: a query passes, a mutation needs the token', () => {
    assert.equal(guard.canActivate(contextFor('query')), true);
    assert.throws(
      () => guard.canActivate(contextFor('mutation')),
      (error: unknown) => error instanceof ForbiddenException && codeOf(error) === 'FORBIDDEN',
    );
    assert.throws(() => guard.canActivate(contextFor('mutation', { 'x-csrf-token': CSRF.replace('Q', 'R') })), ForbiddenException);
    assert.equal(guard.canActivate(contextFor('mutation', { 'x-csrf-token': CSRF })), true);
  });
});

describe('SidecarOutageInterceptor around a resolver', () => {
  const resolved = resolveXemsOptions({ requestContext: true });
  const requestSessions = fakeRequestSessions(resolved);
  const interceptor = new SidecarOutageInterceptor(resolved, requestSessions, {} as XemsService);
  const failing = { handle: () => throwError(() => new XemsTimeoutError('GET', 2000)) };

  it('runs a guarded resolver with the request in the async context', async () => {
    const { req, res } = fakeHttp();
    requestSessions.attach(req, res, fakeSession({ token: T2 }), { token: T1, via: 'cookie' });
    let seen: unknown;
    const out = interceptor.intercept(resolverContext({ req, res }), {
      handle: () => defer(() => ((seen = xemsRequestContext.getStore()), of(1))),
    });
    assert.equal(await lastValueFrom(out), 1);
    assert.equal(seen, req);
  });

  it('turns an outage into SERVICE_UNAVAILABLE with Retry-After, and without req/res in the context too', async () => {
    const { req, res } = fakeHttp();
    await assert.rejects(firstValueFrom(interceptor.intercept(resolverContext({ req, res }), failing)), XemsGraphqlUnavailableError);
    assert.equal(res.getHeader('retry-after'), '1');
    await assert.rejects(firstValueFrom(interceptor.intercept(resolverContext({}), failing)), XemsGraphqlUnavailableError);
  });
});
