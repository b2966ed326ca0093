import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import {
  ArgumentsHost,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  HttpException,
  INestApplication,
  Module,
  UseFilters,
} from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { XemsModule, XemsService } from '../src';
import { PLATFORMS, type TestPlatform, createPlatformApp } from './support/platforms';
import { eventually } from './support/xems-features-app';

// The reason the module registers an interceptor rather than an exception filter: an app's
// own catch-all filter (global, from its module, or on a controller) would answer a sidecar
// outage raised inside a handler with 500. The outage must still be a 503 with Retry-After and
// no stack in the body. On Express and Fastify.

/**
 * A typical catch-all: HttpExceptions keep their status, anything else is a 500. It answers
 * through Nest's HttpAdapterHost, as platform-agnostic filters do (Express and Fastify alike).
 */
@Catch()
class CatchEverything implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = {
      statusCode: status,
      message: exception instanceof HttpException ? exception.message : 'Internal error',
      caughtBy: 'app',
    };
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, status);
  }
}

@Controller()
class ValuesController {
  constructor(private readonly xems: XemsService) {}

  /** A handler without a session that reads a value (an OTP check, a rate limit): XemsService inside the handler. */
  @Get('value')
  async value() {
    return { value: await this.xems.from('values').get('k') };
  }

  @Get('filtered')
  @UseFilters(CatchEverything)
  async filtered() {
    return { value: await this.xems.from('values').get('k') };
  }
}

async function appWithCatchAll(
  how: 'global' | 'module',
  platform: TestPlatform,
): Promise<{ app: INestApplication; xems: XemsService; server: Server }> {
  @Module({
    imports: [XemsModule.forRoot({ isGlobal: true, sidecar: { maxRestarts: 0 } })],
    controllers: [ValuesController],
    providers: how === 'module' ? [{ provide: APP_FILTER, useClass: CatchEverything }] : [],
  })
  class CatchAllAppModule {}
  const app = await createPlatformApp(CatchAllAppModule, platform, { logger: false });
  if (how === 'global') app.useGlobalFilters(new CatchEverything(app.get(HttpAdapterHost)));
  await app.listen(0, '127.0.0.1');
  return { app, xems: app.get(XemsService), server: app.getHttpServer() as Server };
}

for (const platform of PLATFORMS)
  for (const how of ['global', 'module'] as const) {
    describe(`a sidecar outage inside a handler, with the app's own catch-all filter (${how}, ${platform})`, () => {
      let t: Awaited<ReturnType<typeof appWithCatchAll>>;
      before(async () => {
        t = await appWithCatchAll(how, platform);
      });
      after(async () => {
        await t?.app.close();
      });

      it('is a 503 with Retry-After and no stack, on every route, even one with its own filter', async () => {
        const up = await request(t.server).get('/value');
        assert.equal(up.status, 200);
        assert.deepEqual(up.body, { value: null });
        process.kill(t.xems.sidecar.pid!, 'SIGKILL');
        await eventually(() => t.xems.sidecar.state === 'failed', 3000, 'the sidecar to be down for good (maxRestarts: 0)');
        for (const path of ['/value', '/filtered']) {
          const res = await request(t.server).get(path);
          assert.equal(res.status, 503, `${path}: ${JSON.stringify(res.body)}`);
          assert.equal(res.headers['retry-after'], '1', path);
          assert.equal(res.body.caughtBy, 'app', 'the app filter still answered, with the 503 it was given');
          assert.doesNotMatch(JSON.stringify(res.body), /at .*\.(js|ts)|Xems\w*Error/, 'no stack, no internal error name');
        }
      });
    });
  }
