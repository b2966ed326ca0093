import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GuardsConsumer } from '@nestjs/core/guards/guards-consumer';
import { ExpressAdapter } from '@nestjs/platform-express';
import request from 'supertest';
import { SessionGuard, XemsModule, XemsService, XemsUnsupportedContextError, XemsUnsupportedPlatformError } from '../src';
import { FeaturesApp, createFeaturesApp } from './support/xems-features-app';
import { PLATFORMS, TestApp, cookieToken, createTestApp } from './support/xems-test-app';

/** The address the device list recorded for a login that claimed to come through a proxy. */
async function recordedAddress(server: TestApp['server'], devicesPath: string, loginPath: string): Promise<string | undefined> {
  const login = await request(server).post(loginPath).set('X-Forwarded-For', '203.0.113.50').send({ user: 'proxied' });
  assert.equal(login.status, 200);
  const devices = await request(server)
    .get(devicesPath)
    .set('Cookie', `xems_token=${cookieToken(login)}`);
  assert.equal(devices.status, 200);
  const current = (devices.body as Array<{ current: boolean; ip?: string }>).find((d) => d.current);
  return current?.ip;
}

for (const platform of PLATFORMS) {
  describe(`the client address honours the platform's trust proxy setting (${platform})`, () => {
    let plain: TestApp;
    let proxied: FeaturesApp;
    before(async () => {
      plain = await createTestApp({}, platform);
      // /me/devices finds the caller's session through the request context (on by default on Node 24+ only).
      proxied = await createFeaturesApp({ requestContext: true }, platform);
    });
    after(async () => {
      await Promise.all([plain?.close(), proxied?.close()]);
    });

    it('without trust proxy X-Forwarded-For is ignored: the peer address is recorded', async () => {
      assert.equal(await recordedAddress(plain.server, '/me/devices', '/login'), '127.0.0.1');
    });

    it('with trust proxy (Express app.set, Fastify trustProxy) the forwarded address is recorded', async () => {
      assert.equal(await recordedAddress(proxied.server, '/me/devices', '/auth/login'), '203.0.113.50');
    });
  });
}

for (const platform of PLATFORMS) {
  describe(`the app's own cookies (${platform})`, () => {
    it("a cookie the handler sets is kept beside the rotated token's", async () => {
      const t = await createTestApp({}, platform);
      try {
        const login = await request(t.server).post('/login').send({ user: 'cookies' });
        const res = await request(t.server)
          .get('/me/other-cookie')
          .set('Cookie', `xems_token=${cookieToken(login)}`);
        assert.equal(res.status, 200);
        const lines = res.headers['set-cookie'] as unknown as string[];
        assert.ok(
          lines.some((l) => l.startsWith('theme=dark')),
          String(lines),
        );
        assert.ok(cookieToken(res) && cookieToken(res) !== cookieToken(login), String(lines));
      } finally {
        await t.close();
      }
    });
  });
}

describe('an HTTP adapter the module does not support', () => {
  it('fails the start with XemsUnsupportedPlatformError before any sidecar is spawned', async () => {
    class KoaLikeAdapter extends ExpressAdapter {
      override getType(): string {
        return 'koa';
      }
    }
    @Module({ imports: [XemsModule.forRoot()] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, new KoaLikeAdapter(), { logger: false, abortOnError: false });
    try {
      await assert.rejects(
        app.init(),
        (e: unknown) => e instanceof XemsUnsupportedPlatformError && e.message.includes('"koa"') && /platform-fastify/.test(e.hint),
      );
      assert.equal(app.get(XemsService).sidecar.pid, undefined, 'no sidecar was started');
    } finally {
      await app.close();
    }
  });
});

describe('a microservice (rpc) handler guarded by SessionGuard', () => {
  it("is refused with XemsUnsupportedContextError by Nest's guard consumer, never passed", async () => {
    @Controller()
    class MathController {
      @UseGuards(SessionGuard)
      sum(...data: unknown[]) {
        return (data[0] as number[]).reduce((a, b) => a + b, 0);
      }
    }
    @Module({ imports: [XemsModule.forRoot()], controllers: [MathController] })
    class RpcAppModule {}
    const app = await NestFactory.createApplicationContext(RpcAppModule, { logger: false });
    try {
      const controller = app.get(MathController);
      // What @nestjs/microservices does before each @MessagePattern handler: Nest's guard consumer
      // runs the handler's guards in an 'rpc' context whose arguments are the message and its context.
      const guards = [app.get(SessionGuard)];
      await assert.rejects(
        new GuardsConsumer().tryActivate(guards, [[1, 2], { getPattern: () => 'sum' }], controller, controller.sum, 'rpc'),
        (e: unknown) => e instanceof XemsUnsupportedContextError && e.contextType === 'rpc' && e.message.includes('SessionGuard'),
      );
    } finally {
      await app.close();
    }
  });
});
