import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { ServiceUnavailableException } from '@nestjs/common';
import { defer, firstValueFrom, lastValueFrom, Observable, of, throwError } from 'rxjs';
import { fakeHttp, fakeRequestSessions, fakeSession, httpContext } from '../test/support/http-fakes';
import type { XemsModuleOptions } from './xems.options';
import { resolveXemsOptions } from './xems.resolved-options';
import type { RequestSessions } from './request-session';
import { SidecarOutageInterceptor, TokenRotationInterceptor } from './sidecar-outage.interceptor';
import { xemsRequestContext } from './xems.context';
import { XemsTimeoutError, XemsUnavailableError, XemsValidationError } from './xems.errors';
import type { XemsService } from './xems.service';

function setup(options: XemsModuleOptions = {}, requestSessions: RequestSessions = fakeRequestSessions(resolveXemsOptions(options))) {
  const resolved = resolveXemsOptions(options);
  return { requestSessions, interceptor: new SidecarOutageInterceptor(resolved, requestSessions, {} as XemsService) };
}

/** A request that holds a session (SessionGuard ran), and its response. */
function guarded(requestSessions: RequestSessions) {
  const { req, res } = fakeHttp({ cookie: `xems_token=${'a'.repeat(70)}` });
  requestSessions.attach(req, res, fakeSession({ token: 'b'.repeat(70) }), { token: 'a'.repeat(70), via: 'cookie' });
  return { req, res };
}

const handler = (fn: () => Observable<unknown>) => ({ handle: fn });

/** Runs the handler after a delay and records the async context it saw. */
function seeingContext(seen: { store?: unknown }) {
  return handler(() =>
    defer(async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen.store = xemsRequestContext.getStore();
      return 'ok';
    }),
  );
}

describe('SidecarOutageInterceptor', () => {
  it('runs the handler of a request with a session with the request in the async context (requestContext on)', async () => {
    const { interceptor, requestSessions } = setup({ requestContext: true });
    const { req, res } = guarded(requestSessions);
    const seen: { store?: unknown } = {};
    assert.equal(await lastValueFrom(interceptor.intercept(httpContext(req, res), seeingContext(seen))), 'ok');
    assert.equal(seen.store, req);
    assert.equal(xemsRequestContext.getStore(), undefined);
  });

  it('costs no async context for a request without a session', async () => {
    const { interceptor } = setup({ requestContext: true });
    const { req, res } = fakeHttp();
    const seen: { store?: unknown } = { store: 'unset' };
    assert.equal(await lastValueFrom(interceptor.intercept(httpContext(req, res), seeingContext(seen))), 'ok');
    assert.equal(seen.store, undefined);
  });

  it('leaves the async context alone with requestContext off', async () => {
    const { interceptor, requestSessions } = setup({ requestContext: false });
    const { req, res } = guarded(requestSessions);
    let seen: unknown = 'unset';
    const out = interceptor.intercept(
      httpContext(req, res),
      handler(() => defer(() => ((seen = xemsRequestContext.getStore()), of(1)))),
    );
    assert.equal(await lastValueFrom(out), 1);
    assert.equal(seen, undefined);
  });

  it('still maps sidecar outages to 503 with requestContext off', async () => {
    const { interceptor } = setup({ requestContext: false });
    const { req, res } = fakeHttp();
    const out = interceptor.intercept(
      httpContext(req, res),
      handler(() => throwError(() => new XemsUnavailableError('down'))),
    );
    await assert.rejects(firstValueFrom(out), ServiceUnavailableException);
    assert.equal(res.getHeader('retry-after'), '1');
  });

  it('turns sidecar outages from the handler into 503 with Retry-After, with or without a session', async () => {
    for (const withSession of [false, true]) {
      for (const error of [new XemsUnavailableError('down'), new XemsTimeoutError('KV_GET', 10)]) {
        const { interceptor, requestSessions } = setup();
        const { req, res } = withSession ? guarded(requestSessions) : fakeHttp();
        const out = interceptor.intercept(
          httpContext(req, res),
          handler(() => throwError(() => error)),
        );
        await assert.rejects(firstValueFrom(out), ServiceUnavailableException);
        assert.equal(res.getHeader('retry-after'), '1');
      }
    }
  });

  it('passes other errors and values through unchanged', async () => {
    const { interceptor } = setup();
    const { req, res } = fakeHttp();
    const boom = new XemsValidationError('VALUE_TOO_LARGE', 'big', 'smaller');
    await assert.rejects(
      firstValueFrom(
        interceptor.intercept(
          httpContext(req, res),
          handler(() => throwError(() => boom)),
        ),
      ),
      (e) => e === boom,
    );
    assert.equal(res.getHeader('retry-after'), undefined);
    assert.deepEqual(
      await firstValueFrom(
        interceptor.intercept(
          httpContext(req, res),
          handler(() => of({ a: 1 })),
        ),
      ),
      { a: 1 },
    );
  });

  it('with the Redis store, lets a guarded response fetch its current token before the value or the error goes on', async () => {
    const redis = {
      store: { type: 'redis' as const, url: 'redis://127.0.0.1:6379' },
      persistence: { secret: 'hex:9f1c2b7e4a6d8053c1e2f3a4b5c6d7e8091a2b3c4d5e6f708192a3b4c5d6e7f8' },
      hardwareBinding: false as const,
    };
    for (const [options, refreshes] of [
      [redis, true],
      [{}, false],
    ] as const) {
      const order: string[] = [];
      const requestSessions = fakeRequestSessions(resolveXemsOptions(options));
      requestSessions.refreshIfLate = async (req: IncomingMessage) => {
        await new Promise((r) => setTimeout(r, 2));
        order.push(req.headers.cookie ? 'refresh' : 'refresh of an unguarded request');
      };
      const { interceptor } = setup(options, requestSessions);
      const ok = guarded(requestSessions);
      const value = await firstValueFrom(
        interceptor.intercept(
          httpContext(ok.req, ok.res),
          handler(() => of('v')),
        ),
      );
      order.push(`value ${String(value)}`);
      const failing = guarded(requestSessions);
      await assert.rejects(
        firstValueFrom(
          interceptor.intercept(
            httpContext(failing.req, failing.res),
            handler(() => throwError(() => new XemsUnavailableError('down'))),
          ),
        ),
        ServiceUnavailableException,
      );
      order.push('error');
      const unguarded = fakeHttp();
      await firstValueFrom(
        interceptor.intercept(
          httpContext(unguarded.req, unguarded.res),
          handler(() => of('plain')),
        ),
      );
      assert.deepEqual(order, refreshes ? ['refresh', 'value v', 'refresh', 'error'] : ['value v', 'error'], JSON.stringify(options));
    }
  });

  it('leaves non-HTTP contexts alone', async () => {
    const { interceptor } = setup({ requestContext: true });
    const { req, res } = fakeHttp();
    let seen: unknown = 'unset';
    const out = interceptor.intercept(
      httpContext(req, res, undefined, undefined, 'rpc'),
      handler(() => defer(() => ((seen = xemsRequestContext.getStore()), of(1)))),
    );
    await firstValueFrom(out);
    assert.equal(seen, undefined);
  });

  it('keeps the old name TokenRotationInterceptor as a deprecated alias', () => {
    assert.equal(TokenRotationInterceptor, SidecarOutageInterceptor);
  });
});
