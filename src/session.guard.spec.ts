import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutionContext, HttpException, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { fakeHttp, flushHeaders, httpContext, setCookies } from '../test/support/http-fakes';
import { SessionGuard, XemsUnauthorizedReason } from './session.guard';
import { TokenTransport, XemsPresentedToken } from './token-transport';
import { XemsSandbox } from './xems-sandbox.decorator';
import { XemsOverloadedError, XemsTimeoutError, XemsUnavailableError, XemsValidationError } from './xems.errors';
import { XemsModuleOptions, resolveXemsOptions } from './xems.options';
import type { XemsResolveOptions, XemsResolvedSession, XemsService } from './xems.service';

const T1 = 'a'.repeat(70);
const T2 = 'b'.repeat(70);

interface Call {
  token: string;
  options: XemsResolveOptions;
}

function fakeService(options: XemsModuleOptions = {}, answer: (call: Call) => Promise<XemsResolvedSession | null> = async () => null) {
  const resolved = resolveXemsOptions(options);
  const calls: Call[] = [];
  const service = {
    options: resolved,
    transport: new TokenTransport(resolved),
    resolveSession: (token: string, opts: XemsResolveOptions) => {
      calls.push({ token, options: opts });
      return answer({ token, options: opts });
    },
  };
  return { service: service as unknown as XemsService, calls };
}

const live = (token = T2): XemsResolvedSession => ({ data: { user: 'ann' }, token, rotated: true, expiresAt: Date.now() + 60_000, id: 'sid-1' });

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
    const { service, calls } = fakeService();
    const { req, res } = fakeHttp();
    const err = await rejectsWith(new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), 401);
    assert.ok(err instanceof UnauthorizedException);
    assert.equal(calls.length, 0);
  });

  it('refuses malformed and duplicated cookies with 401, without asking the sidecar', async () => {
    const { service, calls } = fakeService();
    for (const cookie of ['xems_token=junk', `xems_token=${'x'.repeat(10240)}`, `xems_token=${T1}; xems_token=${T2}`, `xems_token=${'ü'.repeat(70)}`]) {
      const { req, res } = fakeHttp({ cookie });
      await rejectsWith(new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), 401);
    }
    assert.equal(calls.length, 0);
  });

  it('resolves the cookie token with rotation and grace, attaches the session and sends the successor', async () => {
    const { service, calls } = fakeService({}, async () => live());
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}`, 'x-xems-token': 'ignored-because-cookie-wins' });
    assert.equal(await new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), true);
    assert.deepEqual(calls, [{ token: T1, options: { sandbox: 'xems.session', rotate: true, gracePeriod: 2000, minRotateInterval: 0, csrf: true } }]);
    const state = service.transport.peek(req)!;
    assert.deepEqual(state.presented, { token: T1, via: 'cookie' });
    assert.deepEqual(state.session?.data, { user: 'ann' });
    assert.equal(state.session?.token, T2);
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${T2};`));
    assert.equal(res.getHeader('cache-control'), 'no-store');
  });

  it('reads the header when there is no cookie and answers in the header', async () => {
    const { service, calls } = fakeService({}, async () => live());
    const { req, res } = fakeHttp({ 'x-xems-token': T1 });
    assert.equal(await new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), true);
    assert.equal(calls[0].token, T1);
    flushHeaders(res);
    assert.equal(res.getHeader('x-xems-token'), T2);
    assert.deepEqual(setCookies(res), []);
  });

  it('maps autoRotation to the sidecar policy', async () => {
    for (const [autoRotation, rotate, minRotateInterval] of [[false, false, 0], ['30s', true, 30_000], [true, true, 0]] as const) {
      const { service, calls } = fakeService({ autoRotation, gracePeriod: '1s' }, async () => live(T1));
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      await new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res));
      assert.deepEqual(calls[0].options, { sandbox: 'xems.session', rotate, gracePeriod: 1000, minRotateInterval, csrf: true });
    }
  });

  it('passes the client (req.ip, User-Agent) for the binding check only when binding is on', async () => {
    for (const [binding, expectClient] of [[undefined, false], [{ ip: 'subnet' }, true], [{ userAgent: true }, true], [{ ip: 'off', userAgent: false }, false]] as const) {
      const { service, calls } = fakeService({ binding }, async () => live(T1));
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}`, 'user-agent': 'UA/1' });
      (req as unknown as { ip: string }).ip = '203.0.113.7';
      await new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res));
      assert.deepEqual(calls[0].options.client, expectClient ? { ip: '203.0.113.7', userAgent: 'UA/1' } : undefined, JSON.stringify(binding));
    }
  });

  it('keeps rotated, remember-me, sliding and the CSRF token on the request state', async () => {
    const { service } = fakeService({}, async () => ({ ...live(), rememberMe: true, sliding: true, csrfToken: 'c'.repeat(22) }));
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res));
    const session = service.transport.peek(req)!.session!;
    assert.deepEqual([session.rotated, session.rememberMe, session.sliding, session.csrfToken], [true, true, true, 'c'.repeat(22)]);
  });

  it('refuses unknown, expired, revoked or reused tokens (resolveSession null) with 401', async () => {
    const { service } = fakeService({}, async () => null);
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await rejectsWith(new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), 401);
    assert.equal(service.transport.peek(req)?.session, undefined);
  });

  it('answers 503 with Retry-After when the sidecar is unavailable, timed out or overloaded', async () => {
    for (const error of [new XemsUnavailableError('down'), new XemsTimeoutError('S_RESOLVE', 2000), new XemsOverloadedError(10)]) {
      const { service } = fakeService({}, async () => {
        throw error;
      });
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      const err = await rejectsWith(new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), 503);
      assert.ok(err instanceof ServiceUnavailableException);
      assert.equal(res.getHeader('retry-after'), '1');
      assert.doesNotMatch(JSON.stringify(err.getResponse()), /at .*\.js/);
    }
  });

  it('lets other errors through unchanged (never a pass)', async () => {
    const boom = new XemsValidationError('INVALID_SANDBOX', 'bad', 'fix');
    const { service } = fakeService({}, async () => {
      throw boom;
    });
    const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
    await assert.rejects(new SessionGuard(service, new Reflector()).canActivate(httpContext(req, res)), (e) => e === boom);
  });

  it('uses @XemsSandbox() of the handler over the controller over the default', async () => {
    const { service, calls } = fakeService({}, async () => live(T1));
    @XemsSandbox('ctrl')
    class Ctrl {
      @XemsSandbox('handler')
      a() {}
      b() {}
    }
    class Plain {
      c() {}
    }
    const guard = new SessionGuard(service, new Reflector());
    for (const [handler, cls] of [[Ctrl.prototype.a, Ctrl], [Ctrl.prototype.b, Ctrl], [Plain.prototype.c, Plain]] as const) {
      const { req, res } = fakeHttp({ cookie: `xems_token=${T1}` });
      await guard.canActivate(httpContext(req, res, handler, cls as never));
    }
    assert.deepEqual(calls.map((c) => c.options.sandbox), ['handler', 'ctrl', 'xems.session']);
    assert.throws(() => XemsSandbox('bad name'), /not a valid sandbox name/);
  });

  it('lets a subclass override getToken, getSandbox and onUnauthorized', async () => {
    const { service, calls } = fakeService({}, async () => null);
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
    const guard = new BearerGuard(service, new Reflector());
    const a = fakeHttp({ authorization: `Bearer ${T1}` });
    await rejectsWith(guard.canActivate(httpContext(a.req, a.res)), 419);
    const b = fakeHttp({});
    await rejectsWith(guard.canActivate(httpContext(b.req, b.res)), 419);
    assert.deepEqual(reasons, ['invalid', 'missing']);
    assert.deepEqual(calls.map((c) => [c.token, c.options.sandbox]), [[T1, 'api']]);
  });
});
