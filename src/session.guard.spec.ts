import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutionContext, HttpException, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { fakeHttp, flushHeaders, httpContext, setCookies } from '../test/support/http-fakes';
import type { XemsModuleOptions } from './xems.options';
import { resolveXemsOptions } from './xems.resolved-options';
import { RequestSessions, peekRequestState } from './request-session';
import { SessionLedger } from './session-ledger';
import { SessionGuard, XemsUnauthorizedReason } from './session.guard';
import type { XemsResolvedSession } from './session.types';
import { TokenTransport, XemsPresentedToken } from './token-transport';
import { XemsSandbox } from './xems-sandbox.decorator';
import { XemsOverloadedError, XemsTimeoutError, XemsUnavailableError, XemsValidationError } from './xems.errors';
import type { SessionLookup, XemsSessions } from './xems.sessions';
import { HttpPlatformHost } from './platform/platform-host';

const T1 = 'a'.repeat(70);
const T2 = 'b'.repeat(70);

interface Call {
  sandbox: string;
  token: string;
  lookup: SessionLookup;
}

/** A guard over a fake XemsSessions whose resolve() records its calls (durations arrive in milliseconds, parsed once). */
function fakeGuard(options: XemsModuleOptions = {}, answer: (call: Call) => Promise<XemsResolvedSession | null> = async () => null) {
  const resolved = resolveXemsOptions(options);
  const calls: Call[] = [];
  const sessions = {
    resolve: (sandbox: string, token: string, lookup: SessionLookup) => {
      calls.push({ sandbox, token, lookup });
      return answer({ sandbox, token, lookup });
    },
  } as unknown as XemsSessions;
  const transport = new TokenTransport(resolved);
  const requestSessions = new RequestSessions(resolved, transport, new SessionLedger(), sessions, new HttpPlatformHost());
  const make = <G extends SessionGuard>(Guard: new (...args: ConstructorParameters<typeof SessionGuard>) => G) =>
    new Guard(resolved, sessions, transport, requestSessions, new Reflector());
  return { guard: make(SessionGuard), make, calls };
}

const live = (token = T2): XemsResolvedSession => ({
  sandbox: 'xems.session',
  data: { user: 'ann' },
  token,
  rotated: true,
  expiresAt: Date.now() + 60_000,
  id: 'sid-1',
  rememberMe: false,
  sliding: false,
});

async function rejectsWith(promise: Promise<unknown>, status: number): Promise<HttpException> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HttpException, `expected HttpException ${status}, got ${String(caught)}`);
  assert.equal(caught.getStatus(), status);
  return caught;
}

describe('SessionGuard', () => {
  it('refuses a request without a token with 401, without asking the sidecar', async () => {
    const { guard, calls } = fakeGuard();
    const { req, res } = fakeHttp();
    const err = await rejectsWith(guard.canActivate(httpContext(req, res)), 401);
    assert.ok(err instanceof UnauthorizedException);
    assert.equal(calls.length, 0);
  });

  it('refuses malformed and duplicated cookies with 401, without asking the sidecar', async () => {
    const { guard, calls } = fakeGuard();
    for (const cookie of [
      'xems_token=junk',
      `xems_token=${'x'.repeat(10240)}`,
      `xems_token=${T1}; xems_token=${T2}`,
      `xems_token=${'ü'.repeat(70)}`,
    ]) {
      const { req, res } = fakeHttp({ cookie });
      await rejectsWith(guard.canActivate(httpContext(req, res)), 401);
    }
    assert.equal(calls.length, 0);
  });

  it('resolves the cookie token with rotation and grace, attaches the session and sends the successor', async () => {
    const { guard, calls } = fakeGuard({}, async () => live());
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}`, 'x-xems-token': 'ignored-because-cookie-wins' });
    assert.equal(await guard.canActivate(httpContext(req, res)), true);
    assert.deepEqual(calls, [
      {
        sandbox: 'xems.session',
        token: T1,
        lookup: { rotate: true, graceMs: 2000, minRotateIntervalMs: 0, csrf: true, client: undefined },
      },
    ]);
    const state = peekRequestState(req)!;
    assert.deepEqual(state.presented, { token: T1, via: 'cookie' });
    assert.deepEqual(state.session?.data, { user: 'ann' });
    assert.equal(state.session?.token, T2);
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${T2};`));
    assert.equal(res.getHeader('cache-control'), 'no-store');
  });

  it('reads the header when there is no cookie and answers in the header', async () => {
    const { guard, calls } = fakeGuard({}, async () => live());
    const { req, res } = fakeHttp({ 'x-xems-token': T1 });
    assert.equal(await guard.canActivate(httpContext(req, res)), true);
    assert.equal(calls[0].token, T1);
    flushHeaders(res);
    assert.equal(res.getHeader('x-xems-token'), T2);
    assert.deepEqual(setCookies(res), []);
  });

  it('maps autoRotation to the sidecar policy', async () => {
    for (const [autoRotation, rotate, minRotateInterval] of [
      [false, false, 0],
      ['30s', true, 30_000],
      [true, true, 0],
    ] as const) {
      const { guard, calls } = fakeGuard({ autoRotation, gracePeriod: '1s' }, async () => live(T1));
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      await guard.canActivate(httpContext(req, res));
      assert.deepEqual(calls[0].lookup, { rotate, graceMs: 1000, minRotateIntervalMs: minRotateInterval, csrf: true, client: undefined });
    }
  });

  it('passes the client (req.ip, User-Agent) for the binding check only when binding is on', async () => {
    for (const [binding, expectClient] of [
      [undefined, false],
      [{ ip: 'subnet' }, true],
      [{ userAgent: true }, true],
      [{ ip: 'off', userAgent: false }, false],
    ] as const) {
      const { guard, calls } = fakeGuard({ binding }, async () => live(T1));
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}`, 'user-agent': 'UA/1' });
      (req as unknown as { ip: string }).ip = '203.0.113.7';
      await guard.canActivate(httpContext(req, res));
      assert.deepEqual(
        calls[0].lookup.client,
        expectClient ? { ip: '203.0.113.7', userAgent: 'UA/1' } : undefined,
        JSON.stringify(binding),
      );
    }
  });

  it('keeps rotated, remember-me, sliding and the CSRF token on the request state', async () => {
    const { guard } = fakeGuard({}, async () => ({ ...live(), rememberMe: true, sliding: true, csrfToken: 'c'.repeat(22) }));
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await guard.canActivate(httpContext(req, res));
    const session = peekRequestState(req)!.session!;
    assert.deepEqual([session.rotated, session.rememberMe, session.sliding, session.csrfToken], [true, true, true, 'c'.repeat(22)]);
  });

  it('refuses unknown, expired, revoked or reused tokens (resolveSession null) with 401', async () => {
    const { guard } = fakeGuard({}, async () => null);
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await rejectsWith(guard.canActivate(httpContext(req, res)), 401);
    assert.equal(peekRequestState(req)?.session, undefined);
  });

  it('answers 503 with Retry-After when the sidecar is unavailable, timed out or overloaded', async () => {
    for (const error of [new XemsUnavailableError('down'), new XemsTimeoutError('S_RESOLVE', 2000), new XemsOverloadedError(10)]) {
      const { guard } = fakeGuard({}, async () => {
        throw error;
      });
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      const err = await rejectsWith(guard.canActivate(httpContext(req, res)), 503);
      assert.ok(err instanceof ServiceUnavailableException);
      assert.equal(res.getHeader('retry-after'), '1');
      assert.doesNotMatch(JSON.stringify(err.getResponse()), /at .*\.js/);
    }
  });

  it('lets other errors through unchanged (never a pass)', async () => {
    const boom = new XemsValidationError('INVALID_SANDBOX', 'bad', 'fix');
    const { guard } = fakeGuard({}, async () => {
      throw boom;
    });
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await assert.rejects(guard.canActivate(httpContext(req, res)), (e) => e === boom);
  });

  it('uses @XemsSandbox() of the handler over the controller over the default', async () => {
    const { guard, calls } = fakeGuard({}, async () => live(T1));
    @XemsSandbox('ctrl')
    class Ctrl {
      @XemsSandbox('handler')
      a() {}
      b() {}
    }
    class Plain {
      c() {}
    }
    for (const [handler, cls] of [
      [Ctrl.prototype.a, Ctrl],
      [Ctrl.prototype.b, Ctrl],
      [Plain.prototype.c, Plain],
    ] as const) {
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      await guard.canActivate(httpContext(req, res, handler, cls as never));
    }
    assert.deepEqual(
      calls.map((c) => c.sandbox),
      ['handler', 'ctrl', 'xems.session'],
    );
    assert.throws(() => XemsSandbox('bad name'), /not a valid sandbox name/);
  });

  it("reads a route's decorators once per handler and controller, an inherited handler per controller", async () => {
    const { make, calls } = fakeGuard({}, async () => live(T1));
    let reads = 0;
    class CountingReflector extends Reflector {
      override getAllAndOverride<T>(...args: Parameters<Reflector['getAllAndOverride']>): T {
        reads++;
        return super.getAllAndOverride(...args) as T;
      }
    }
    const guard = make(
      class extends SessionGuard {
        constructor(...args: ConstructorParameters<typeof SessionGuard>) {
          super(args[0], args[1], args[2], args[3], new CountingReflector());
        }
      },
    );
    class Base {
      me() {}
    }
    @XemsSandbox('child')
    class Child extends Base {}
    for (const cls of [Base, Child, Base, Child, Base]) {
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      assert.equal(await guard.canActivate(httpContext(req, res, Base.prototype.me, cls as never)), true);
    }
    assert.deepEqual(
      calls.map((c) => c.sandbox),
      ['xems.session', 'child', 'xems.session', 'child', 'xems.session'],
    );
    assert.equal(reads, 2 * 3, 'three decorators read for each of the two routes, then remembered');
  });

  it('lets a subclass override getToken, getSandbox and onUnauthorized', async () => {
    const { make, calls } = fakeGuard({}, async () => null);
    const reasons: XemsUnauthorizedReason[] = [];
    class BearerGuard extends SessionGuard {
      protected override getToken(req: IncomingMessage): XemsPresentedToken | undefined {
        const auth = req.headers.authorization;
        return auth?.startsWith('Bearer ') ? { token: auth.slice(7), via: 'header' } : undefined;
      }
      protected override getSandbox(): string {
        return 'api';
      }
      protected override onUnauthorized(reason: XemsUnauthorizedReason, _ctx: ExecutionContext): never {
        reasons.push(reason);
        throw new HttpException('custom', 419);
      }
    }
    const guard = make(BearerGuard);
    const a = fakeHttp({ authorization: `Bearer ${T1}` });
    await rejectsWith(guard.canActivate(httpContext(a.req, a.res)), 419);
    const b = fakeHttp({});
    await rejectsWith(guard.canActivate(httpContext(b.req, b.res)), 419);
    assert.deepEqual(reasons, ['invalid', 'missing']);
    assert.deepEqual(
      calls.map((c) => [c.token, c.sandbox]),
      [[T1, 'api']],
    );
  });
});
