// The default Secure cookie over plain HTTP, in Debian's Chromium (user audit B): kept on
// http://127.0.0.1 and http://localhost (what the README tells developers), dropped without a
// word on any other host over plain HTTP, here app.test mapped to 127.0.0.1 by Chromium's own
// resolver (--host-resolver-rules), where the login answers 200 and the next page is a 401.
// The module warns once, naming that host, so the developer learns why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Header, HttpCode, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import type { Browser } from 'playwright-core';
import { Session, SessionGuard, XemsModule, XemsService } from '../../src';
import { launchChromiumWith } from './support/chromium';
import { RecordingLogger } from './support/sample-server';

@Controller()
class PageController {
  constructor(private readonly xems: XemsService) {}

  @Get()
  @Header('Content-Type', 'text/html')
  page(): string {
    return '<!doctype html><title>plain http</title><p>xems plain HTTP test page</p>';
  }

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ ok: true }> {
    await this.xems.link(req, res, { user: 'paula' }, { userId: 'paula' });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session('user') user: string): { user: string } {
    return { user };
  }
}

@Module({ imports: [XemsModule.forRoot()], controllers: [PageController] })
class PlainHttpAppModule {}

describe('the default Secure cookie over plain HTTP in Chromium', { timeout: 120_000 }, () => {
  let app: NestExpressApplication;
  let browser: Browser;
  let port: number;
  const logger = new RecordingLogger();

  before(async () => {
    app = await NestFactory.create<NestExpressApplication>(PlainHttpAppModule, { logger });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
    browser = await launchChromiumWith(['--host-resolver-rules=MAP app.test 127.0.0.1']);
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  const warnings = () => logger.lines.filter((l) => l.startsWith('warn') && l.includes('is Secure (cookie.secure'));

  /** Logs in from the page at `origin`, then asks for /me: the statuses and the cookies the browser kept. */
  async function loginFrom(origin: string): Promise<{ login: number; me: number; cookies: string[] }> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      assert.equal((await page.goto(`${origin}/`))?.status(), 200, `${origin} loads`);
      const [login, me] = await page.evaluate(async () => {
        const l = await fetch('/login', { method: 'POST' });
        const m = await fetch('/me');
        return [l.status, m.status];
      });
      return { login, me, cookies: (await context.cookies()).map((c) => c.name) };
    } finally {
      await context.close();
    }
  }

  it('keeps it on 127.0.0.1 and localhost, silently', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      assert.deepEqual(await loginFrom(`http://${host}:${port}`), { login: 200, me: 200, cookies: ['xems_token'] }, host);
    }
    assert.deepEqual(warnings(), []);
  });

  it('drops it on another host over plain HTTP (200 login, then 401), and the module says why, once', async () => {
    assert.deepEqual(await loginFrom(`http://app.test:${port}`), { login: 200, me: 401, cookies: [] });
    assert.deepEqual(await loginFrom(`http://app.test:${port}`), { login: 200, me: 401, cookies: [] });
    const lines = warnings();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0], /plain HTTP to host "app\.test"/);
  });
});
