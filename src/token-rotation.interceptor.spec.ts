import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceUnavailableException } from '@nestjs/common';
import { defer, firstValueFrom, lastValueFrom, Observable, of, throwError } from 'rxjs';
import { fakeHttp, flushHeaders, httpContext, setCookies } from '../test/support/http-fakes';
import { TokenRotationInterceptor } from './token-rotation.interceptor';
import { TokenTransport } from './token-transport';
import { xemsRequestContext } from './xems.context';
import { XemsTimeoutError, XemsUnavailableError, XemsValidationError } from './xems.errors';
import { resolveXemsOptions } from './xems.options';
import type { XemsService } from './xems.service';

function setup(requestContext = true) {
  const options = resolveXemsOptions({ requestContext });
  const service = { options, transport: new TokenTransport(options) } as unknown as XemsService;
  return { service, interceptor: new TokenRotationInterceptor(service) };
}

const handler = (fn: () => Observable<unknown>) => ({ handle: fn });

describe('TokenRotationInterceptor', () => {
  it('runs the handler with the request in the async context', async () => {
    const { interceptor } = setup();
    const { req, res } = fakeHttp();
    let seen: unknown;
    const out = interceptor.intercept(
      httpContext(req, res),
      handler(() =>
        defer(async () => {
          await new Promise((r) => setTimeout(r, 5));
          seen = xemsRequestContext.getStore();
          return 'ok';
        }),
      ),
    );
    assert.equal(await lastValueFrom(out), 'ok');
    assert.equal(seen, req);
    assert.equal(xemsRequestContext.getStore(), undefined);
  });

  it('leaves the async context alone with requestContext off', async () => {
    assert.equal(resolveXemsOptions({}).requestContext, true, 'on by default');
    const { interceptor } = setup(false);
    const { req, res } = fakeHttp();
    let seen: unknown = 'unset';
    const out = interceptor.intercept(
      httpContext(req, res),
      handler(() => defer(() => ((seen = xemsRequestContext.getStore()), of(1)))),
    );
    assert.equal(await lastValueFrom(out), 1);
    assert.equal(seen, undefined);
  });

  it('still maps sidecar outages to 503 with requestContext off', async () => {
    const { interceptor } = setup(false);
    const { req, res } = fakeHttp();
    const out = interceptor.intercept(httpContext(req, res), handler(() => throwError(() => new XemsUnavailableError('down'))));
    await assert.rejects(firstValueFrom(out), ServiceUnavailableException);
    assert.equal(res.getHeader('retry-after'), '1');
  });

  it('turns sidecar outages from the handler into 503 with Retry-After', async () => {
    for (const error of [new XemsUnavailableError('down'), new XemsTimeoutError('KV_GET', 10)]) {
      const { interceptor } = setup();
      const { req, res } = fakeHttp();
      const out = interceptor.intercept(httpContext(req, res), handler(() => throwError(() => error)));
      await assert.rejects(firstValueFrom(out), ServiceUnavailableException);
      assert.equal(res.getHeader('retry-after'), '1');
    }
  });

  it('passes other errors and values through unchanged', async () => {
    const { interceptor } = setup();
    const { req, res } = fakeHttp();
    const boom = new XemsValidationError('VALUE_TOO_LARGE', 'big', 'smaller');
    await assert.rejects(firstValueFrom(interceptor.intercept(httpContext(req, res), handler(() => throwError(() => boom)))), (e) => e === boom);
    assert.equal(res.getHeader('retry-after'), undefined);
    assert.deepEqual(await firstValueFrom(interceptor.intercept(httpContext(req, res), handler(() => of({ a: 1 })))), { a: 1 });
  });

  it('makes sure a session attached to the request sends its current token', async () => {
    const { interceptor, service } = setup();
    const { req, res } = fakeHttp();
    const T2 = 'b'.repeat(70);
    service.transport.state(req).session = { sandbox: 's', id: 'i', token: T2, data: {}, expiresAt: Date.now() + 10_000, rotated: false, rememberMe: false, sliding: false };
    await firstValueFrom(interceptor.intercept(httpContext(req, res), handler(() => of(1))));
    flushHeaders(res);
    assert.match(setCookies(res)[0], new RegExp(`^xems_token=${T2};`));
  });

  it('leaves non-HTTP contexts alone', async () => {
    const { interceptor } = setup();
    const { req, res } = fakeHttp();
    let seen: unknown = 'unset';
    const out = interceptor.intercept(
      httpContext(req, res, undefined, undefined, 'rpc'),
      handler(() => defer(() => ((seen = xemsRequestContext.getStore()), of(1)))),
    );
    await firstValueFrom(out);
    assert.equal(seen, undefined);
  });
});
