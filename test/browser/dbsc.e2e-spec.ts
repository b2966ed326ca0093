// Device-bound sessions (DBSC) in a real browser: Debian's Chromium, headless, with software
// keys standing in for the TPM, over HTTPS it trusts (our own CA in a temporary NSS database),
// against the real module and sidecar. The CDP event Network.deviceBoundSessionEventOccurred
// tells when the browser registered or refreshed.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Header, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { type BrowserContext, type CDPSession, type Page, chromium } from 'playwright-core';
import { SessionGuard, XemsModule, XemsService, type XemsEvent } from '../../src';
import { CHROMIUM_PATH } from './support/chromium';
import { type TrustedTls, trustedTls } from './support/tls';

const LIFETIME_MS = 4000;
// Software keys for the TPM; no refresh quota (Chromium's advice for tests: a few-second
// lifetime refreshes more often than the production quota allows).
const FEATURES = '--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting';

@Controller()
class PageController {
  constructor(private readonly xems: XemsService) {}

  @Get()
  @Header('Content-Type', 'text/html')
  page(): string {
    return '<!doctype html><title>dbsc</title><p>xems DBSC test page</p>';
  }

  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ ok: true }> {
    await this.xems.link(req, res, { user: 'dora' }, { userId: 'dora' });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Req() req: Request): unknown {
    return this.xems.getSessionContext(req);
  }
}

interface DbscEvent {
  succeeded?: boolean;
  sessionId?: string;
  creationEventDetails?: unknown;
  refreshEventDetails?: unknown;
  terminationEventDetails?: unknown;
  challengeEventDetails?: unknown;
}

/** The browser's DBSC outcomes in order, for failure messages (no challenge, no key). */
function outcomes(events: DbscEvent[]): string {
  return events
    .map((e) => {
      const d = (e.creationEventDetails ?? e.refreshEventDetails ?? e.terminationEventDetails ?? e.challengeEventDetails) as
        Record<string, unknown> | undefined;
      const result = d && (d.refreshResult ?? d.fetchResult ?? d.deletionReason ?? d.challengeResult);
      return `${e.creationEventDetails ? 'create' : e.refreshEventDetails ? 'refresh' : e.terminationEventDetails ? 'end' : 'challenge'}:${String(result ?? e.succeeded)}`;
    })
    .join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** GET /me from Node with a copied cookie (the thief), trusting our CA. */
function nodeGet(port: number, tls: TrustedTls, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/me', ca: tls.ca, headers: { Cookie: cookie } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('device-bound sessions in Chromium', { timeout: 120_000 }, () => {
  let app: NestExpressApplication;
  let xems: XemsService;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let tls: TrustedTls;
  let port: number;
  const serverEvents: XemsEvent[] = [];
  const browserEvents: DbscEvent[] = [];

  before(async () => {
    tls = trustedTls();
    @Module({ imports: [XemsModule.forRoot({ deviceBound: { lifetime: LIFETIME_MS } })], controllers: [PageController] })
    class DbscAppModule {}
    app = await NestFactory.create<NestExpressApplication>(DbscAppModule, {
      logger: false,
      httpsOptions: { key: tls.key, cert: tls.cert },
    });
    xems = app.get(XemsService);
    xems.events$.subscribe((e) => serverEvents.push(e));
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
    // A persistent (not incognito) profile: DBSC keeps no sessions off the record.
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'xems-dbsc-profile-')), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', FEATURES],
      env: { ...process.env, HOME: tls.home },
    });
    page = context.pages()[0] ?? (await context.newPage());
    cdp = await context.newCDPSession(page);
    cdp.on('Network.deviceBoundSessionEventOccurred' as never, (e: DbscEvent) => browserEvents.push(e));
    await cdp.send('Network.enable');
    await cdp.send('Network.enableDeviceBoundSessions' as never, { enable: true } as never);
  });

  after(async () => {
    await context?.close();
    await app?.close();
  });

  const fetchStatus = (path: string, method = 'GET') =>
    page.evaluate(async ([p, m]) => (await fetch(p, { method: m, credentials: 'same-origin' })).status, [path, method] as const);

  it('registers at login, keeps the page working across lifetimes, refuses a copied cookie past its deadline, and ends a revoked session', async () => {
    const response = await page.goto(`https://127.0.0.1:${port}/`);
    assert.equal(response?.status(), 200, 'the page loads over TLS Chromium trusts');

    assert.equal(await fetchStatus('/login', 'POST'), 201);
    const registered = await until('the browser to register', 20_000, () =>
      serverEvents.find((e) => e.type === 'session.device-registered'),
    );
    await until('the CDP creation event', 10_000, () => browserEvents.find((e) => e.creationEventDetails !== undefined && e.succeeded));
    const sessionId = (registered as { sessionId: string }).sessionId;

    // Several bound-cookie lifetimes: the browser refreshes by itself before its requests.
    for (let i = 0; i < 3; i++) {
      await sleep(LIFETIME_MS + 500);
      assert.equal(await fetchStatus('/me'), 200, `request ${i} after a lifetime`);
    }
    assert.ok(
      serverEvents.some((e) => e.type === 'session.device-refreshed'),
      'the browser refreshed',
    );
    assert.ok(
      browserEvents.some((e) => e.refreshEventDetails !== undefined && e.succeeded),
      'CDP saw a refresh',
    );

    // The token cookie copied into a Node client: refused once the deadline has passed (the
    // page is idle), while the page itself goes on working (its browser refreshes first).
    const token = (await context.cookies()).find((c) => c.name === 'xems_token');
    assert.ok(token, 'the token cookie');
    await sleep(LIFETIME_MS + 500);
    assert.equal(await nodeGet(port, tls, `xems_token=${token.value}`), 401, 'the copied cookie is refused');
    assert.equal(await fetchStatus('/me'), 200, `the page goes on working (browser: ${outcomes(browserEvents)})`);

    // Revoked elsewhere: the next refresh answers {"continue": false} and the page is logged out.
    await xems.revokeSessionById(sessionId);
    await sleep(LIFETIME_MS + 500);
    assert.equal(await fetchStatus('/me'), 401, 'logged out');
    await until('the browser to end its bound session', 10_000, () =>
      browserEvents.find((e) => e.terminationEventDetails !== undefined || (e.refreshEventDetails !== undefined && !e.succeeded)),
    );
  });
});
