import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { fakeHttp, fakeRequestSessions } from '../../test/support/http-fakes';
import { CsrfGuard } from '../csrf.guard';
import { selectSessionContext, selectSessionData } from '../session.decorator';
import { SessionGuard } from '../session.guard';
import { TokenTransport } from '../token-transport';
import { XemsError, XemsUnsupportedContextError, XemsUnsupportedPlatformError } from '../xems.errors';
import { resolveXemsOptions } from '../xems.resolved-options';
import type { XemsSessions } from '../xems.sessions';
import { callPartsOf } from './execution-context';
import { EXPRESS_PLATFORM } from './express-platform';
import { FASTIFY_PLATFORM } from './fastify-platform';
import { HttpPlatformHost, platformFor } from './platform-host';

/** An ExecutionContext as Nest builds it for a microservice handler (type 'rpc'). */
function rpcContext(): ExecutionContextHost {
  const host = new ExecutionContextHost([{ pattern: 'sum' }, {}], class RpcController {}, function sum() {});
  host.setType('rpc');
  return host;
}

function hostWith(type: string | undefined, instance: unknown = {}): HttpPlatformHost {
  const adapterHost = {
    httpAdapter: type === undefined ? undefined : { getType: () => type, getInstance: () => instance },
  } as unknown as HttpAdapterHost;
  return new HttpPlatformHost(adapterHost);
}

const notAResponse = (e: unknown) => e instanceof XemsError && e.code === 'NOT_A_RESPONSE' && /@Res\(/.test(e.hint);

describe('HTTP platforms', () => {
  it('the platform is chosen from the HTTP adapter; none (an application context) keeps the Node shape', () => {
    assert.equal(platformFor('express'), EXPRESS_PLATFORM);
    assert.equal(platformFor('fastify'), FASTIFY_PLATFORM);
    assert.equal(hostWith('fastify').select().name, 'fastify');
    assert.equal(hostWith('express').select().name, 'express');
    assert.equal(hostWith(undefined).select().name, 'express');
    assert.equal(new HttpPlatformHost().select().name, 'express');
  });

  it('an unknown adapter is refused at start, saying what is supported', () => {
    for (const type of ['koa', 'toString', '__proto__']) {
      assert.throws(
        () => hostWith(type).select(),
        (e: unknown) =>
          e instanceof XemsUnsupportedPlatformError &&
          e.code === 'UNSUPPORTED_PLATFORM' &&
          e.message.includes(`"${type}"`) &&
          e.hint.includes('@nestjs/platform-express') &&
          e.hint.includes('@nestjs/platform-fastify'),
        type,
      );
    }
  });

  it('Fastify over HTTP/2 is refused at start (its replies are not Node ServerResponses)', () => {
    assert.equal(hostWith('fastify', { initialConfig: { http2: false } }).select().name, 'fastify');
    assert.throws(
      () => hostWith('fastify', { initialConfig: { http2: true } }).select(),
      (e: unknown) => e instanceof XemsUnsupportedPlatformError && e.message.includes('http2'),
    );
  });

  it("Express: the response must be Express's (a Node ServerResponse); anything else is an XemsError", () => {
    const { res } = fakeHttp();
    assert.equal(EXPRESS_PLATFORM.nodeResponse(res, 'XemsService.link()'), res);
    assert.throws(() => EXPRESS_PLATFORM.nodeResponse({ raw: res }, 'XemsService.link()'), notAResponse);
    assert.throws(() => EXPRESS_PLATFORM.nodeResponse(undefined as never, 'XemsService.link()'), notAResponse);
  });

  it("Fastify: the reply's raw response (or the raw response itself); anything else is an XemsError", () => {
    const { res } = fakeHttp();
    assert.equal(FASTIFY_PLATFORM.nodeResponse({ raw: res }, 'XemsService.link()'), res);
    assert.equal(FASTIFY_PLATFORM.nodeResponse(res, 'XemsService.link()'), res);
    assert.ok(res instanceof ServerResponse);
    assert.throws(() => FASTIFY_PLATFORM.nodeResponse({ raw: {} } as never, 'XemsService.unlink()'), notAResponse);
    assert.throws(() => FASTIFY_PLATFORM.nodeResponse(null as never, 'XemsService.unlink()'), notAResponse);
  });

  it("client and body: Express's req.ip and req.body; Fastify's request.ip (trustProxy) and request.body", () => {
    const { req } = fakeHttp({ 'user-agent': 'UA/1' });
    Object.assign(req, { ip: '198.51.100.7', body: { _csrf: 'x' } });
    assert.deepEqual(EXPRESS_PLATFORM.client(req), { ip: '198.51.100.7', userAgent: 'UA/1' });
    assert.deepEqual(EXPRESS_PLATFORM.body(req), { _csrf: 'x' });
    const { req: raw } = fakeHttp({ 'user-agent': 'UA/2' });
    const fastifyRequest = { raw, headers: raw.headers, ip: '203.0.113.9', body: { _csrf: 'y' } };
    assert.deepEqual(FASTIFY_PLATFORM.client(fastifyRequest), { ip: '203.0.113.9', userAgent: 'UA/2' });
    assert.deepEqual(FASTIFY_PLATFORM.body(fastifyRequest), { _csrf: 'y' });
    // The raw request passed by mistake: the socket's peer (no socket here: ''), no body.
    assert.deepEqual(FASTIFY_PLATFORM.client(raw), { ip: '', userAgent: 'UA/2' });
    assert.equal(FASTIFY_PLATFORM.body(raw), undefined);
  });
});

describe('the client of a WebSocket upgrade request (never seen by the platform: no req.ip)', () => {
  const upgrade = () =>
    ({
      headers: { 'user-agent': 'UA/3', 'x-forwarded-for': '198.51.100.7' },
      socket: { remoteAddress: '10.0.0.1' },
    }) as unknown as IncomingMessage;

  it("Express: its own req.ip getter, so the app's 'trust proxy' setting counts as for HTTP", () => {
    const app = express();
    assert.deepEqual(EXPRESS_PLATFORM.upgradeClient(upgrade(), app), { ip: '10.0.0.1', userAgent: 'UA/3' }, 'no trust proxy: the peer');
    app.set('trust proxy', 1);
    assert.deepEqual(EXPRESS_PLATFORM.upgradeClient(upgrade(), app), { ip: '198.51.100.7', userAgent: 'UA/3' }, 'behind one proxy');
    assert.deepEqual(upgrade().headers['x-forwarded-for'], '198.51.100.7', 'the request itself is untouched');
  });

  it('no Express app (an application context), and Fastify: the socket peer', () => {
    for (const server of [undefined, null, {}, { request: 'x' }]) {
      assert.deepEqual(EXPRESS_PLATFORM.upgradeClient(upgrade(), server), { ip: '10.0.0.1', userAgent: 'UA/3' });
    }
    assert.deepEqual(FASTIFY_PLATFORM.upgradeClient(upgrade(), {}), { ip: '10.0.0.1', userAgent: 'UA/3' });
  });
});

describe('execution contexts other than HTTP', () => {
  const isUnsupported = (what: string) => (e: unknown) =>
    e instanceof XemsUnsupportedContextError &&
    e.code === 'UNSUPPORTED_CONTEXT' &&
    e.contextType === 'rpc' &&
    e.message.includes(what) &&
    e.message.includes('HTTP');

  it('callPartsOf refuses an rpc context (a microservice handler) with the XemsError', () => {
    assert.throws(() => callPartsOf(rpcContext(), 'SessionGuard'), isUnsupported('SessionGuard'));
    const { req, res } = fakeHttp();
    const http = new ExecutionContextHost([req, res]);
    assert.deepEqual(callPartsOf(http, 'SessionGuard'), { req, res });
  });

  it('SessionGuard, CsrfGuard, @Session() and @SessionContext() refuse an rpc call instead of passing or crashing', async () => {
    const resolved = resolveXemsOptions({});
    const guard = new SessionGuard(
      resolved,
      {} as XemsSessions,
      new TokenTransport(resolved),
      fakeRequestSessions(resolved),
      new Reflector(),
    );
    await assert.rejects(guard.canActivate(rpcContext()), isUnsupported('SessionGuard'));
    assert.throws(() => new CsrfGuard(resolved).canActivate(rpcContext()), isUnsupported('CsrfGuard'));
    assert.throws(() => selectSessionData(undefined, rpcContext()), isUnsupported('@Session()'));
    assert.throws(() => selectSessionContext(undefined, rpcContext()), isUnsupported('@SessionContext()'));
  });
});
