// The sample app in a real browser: Debian's Chromium driven by playwright-core, against the real
// module and the real Go sidecar. Steps share one app and run in order.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { XEMS_DEFAULTS, resolveXemsOptions } from '../../src';
import { launchChromium } from './support/chromium';
import { artifactsDir } from './support/paths';
import { startSample, type RunningSample } from './support/sample-server';
import { fetchStatus, logInWithCode, message, register, waitForDevices, type DemoUser } from './support/sample-page';

const COOKIE = XEMS_DEFAULTS.cookie.name;
const user: DemoUser = { name: 'Ada Lovelace', email: 'ada@example.test', password: 'correct horse battery' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === COOKIE);
}

async function openDevice(browser: Browser, url: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(); // a fresh, empty profile: a new device
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#signed-out', { state: 'visible' });
  return { context, page };
}

describe('sample app in Chromium', { timeout: 120_000 }, () => {
  let sample: RunningSample;
  let browser: Browser;
  let first: { context: BrowserContext; page: Page };
  let second: { context: BrowserContext; page: Page };

  // A failed set-up (no Chromium) fails every test with its message, instead of cancelling them
  // (cancelled tests are not counted as failures in the suite's summary).
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  before(async () => {
    try {
      browser = await launchChromium();
      sample = await startSample();
    } catch (err) {
      setupError = err;
    }
  });

  after(async () => {
    await browser?.close();
    await sample?.app.close();
  });

  it('registers, logs in with the one-time code, and shows the profile', async () => {
    ready();
    first = await openDevice(browser, sample.url);
    const { page } = first;
    await register(page, user);
    assert.match(await message(page), /Account created/);

    const code = await logInWithCode(page, user);
    assert.match(code, /^\d{6}$/);
    assert.ok(
      sample.logger.lines.some((line) => line.includes(`One-time code for ${user.email}: ${code}`)),
      'the one-time code is also in the server log',
    );
    assert.equal(await page.textContent('#me-name'), user.name);
    assert.equal(await page.textContent('#me-email'), user.email);
    assert.equal(await page.textContent('#who'), `Signed in as ${user.email}`);
    assert.equal(await page.isVisible('#signed-out'), false, 'the login forms are hidden once signed in');
    await waitForDevices(page, 1);

    // The token rotates on every guarded request, and the page counts it.
    const before = Number(await page.textContent('#rotations'));
    await page.click('#refresh');
    await page.waitForFunction((n) => Number(document.getElementById('rotations')?.textContent) > n, before);
  });

  it('keeps the token out of page scripts: HttpOnly, Secure, SameSite=Strict cookie', async () => {
    ready();
    const { context, page } = first;
    const cookie = await sessionCookie(context);
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Strict');
    const visible = await page.evaluate(() => ({
      cookie: document.cookie,
      html: document.documentElement.outerHTML,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    }));
    assert.ok(!visible.cookie.includes(COOKIE), `document.cookie must not expose the token: ${visible.cookie}`);
    assert.ok(!visible.cookie.includes(cookie.value));
    assert.ok(!visible.html.includes(cookie.value), 'the token is not in the page');
    assert.ok(!visible.storage.includes(cookie.value), 'the token is not in web storage');
  });

  it('answers 30 concurrent fetches from the page, and stays logged in afterwards', async () => {
    ready();
    const { context, page } = first;
    const tokenBefore = (await sessionCookie(context))?.value;
    const responses = await page.evaluate(() =>
      Promise.all(
        Array.from({ length: 30 }, () =>
          fetch('/api/me', { credentials: 'include' }).then((r) => ({
            status: r.status,
            rotated: r.headers.get('x-token-rotated') === '1',
          })),
        ),
      ),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(30).fill(200),
    );
    // At least one of them rotated; the others (same token, inside the grace window) got its successor.
    const rotations = responses.filter((r) => r.rotated).length;
    assert.ok(rotations >= 1 && rotations < 30, `rotations during the burst: ${rotations}`);
    const tokenAfter = (await sessionCookie(context))?.value;
    assert.ok(tokenAfter && tokenAfter !== tokenBefore, 'the cookie holds a rotated token');

    // Converged: once every superseded token has left its grace window, the cookie the browser
    // kept is still the live one (a stale one would now count as reuse and kill the session).
    await sleep(resolveXemsOptions().gracePeriod + 500);
    assert.equal(await fetchStatus(page, '/api/me'), 200);
    await page.reload();
    await page.waitForSelector('#signed-in', { state: 'visible' });
    assert.equal(await page.textContent('#me-email'), user.email);
  });

  it('asks for the password again before changing the e-mail address once the sign-in is over 5 minutes old', async () => {
    ready();
    const { page } = first;
    const changeEmail = async (email: string) => {
      await page.fill('#email-form input[name=email]', email);
      await page.click('#email-form button[type=submit]');
    };
    // Six minutes later on the server's clock (the sample runs in this process; the freshness
    // rule is taken in Node, the sidecar keeps the sign-in time it was given).
    const realNow = Date.now;
    Date.now = () => realNow() + 6 * 60_000;
    try {
      await changeEmail('ada.new@example.test');
      await page.waitForSelector('#reauth-form', { state: 'visible' });
      assert.match(await message(page), /re-enter your password/);
      assert.equal(await page.textContent('#me-email'), user.email, 'not changed yet');
      await page.fill('#reauth-form input[name=password]', user.password);
      await page.click('#reauth-form button[type=submit]');
      await page.waitForFunction(() => document.getElementById('me-email')?.textContent === 'ada.new@example.test');
      assert.equal(await page.isVisible('#reauth-form'), false);
      assert.match(await message(page), /E-mail changed to ada\.new@example\.test/);
    } finally {
      Date.now = realNow;
    }
    // Right after the password prompt the change needs no prompt: change it back.
    await changeEmail(user.email);
    await page.waitForFunction((email) => document.getElementById('me-email')?.textContent === email, user.email);
    assert.equal(await page.isVisible('#reauth-form'), false);
    assert.equal(await fetchStatus(page, '/api/me'), 200);
  });

  it('lists a second browser context as a second device; revoking it makes its next request 401', async () => {
    ready();
    second = await openDevice(browser, sample.url);
    await logInWithCode(second.page, user);
    assert.equal(await fetchStatus(second.page, '/api/me'), 200);

    const { page } = first;
    await page.click('#refresh');
    await waitForDevices(page, 2);
    assert.equal(await page.locator('#devices .this-device').count(), 1, 'exactly one row is this device');
    const screenshotDir = artifactsDir();
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'sample-logged-in.png'), fullPage: true });

    await page.click('#devices button.revoke');
    await waitForDevices(page, 1);
    assert.equal(await page.locator('#devices .this-device').count(), 1, 'the remaining row is this device');

    assert.equal(await fetchStatus(second.page, '/api/me'), 401, 'the revoked device is logged out');
    assert.equal(await fetchStatus(first.page, '/api/me'), 200, 'the first device is untouched');
    await second.page.reload();
    await second.page.waitForSelector('#signed-out', { state: 'visible' });
  });

  it('logs out: the next request gets 401 and the cookie is gone', async () => {
    ready();
    const { context, page } = first;
    assert.ok(await sessionCookie(context));
    await page.click('#logout');
    await page.waitForSelector('#signed-out', { state: 'visible' });
    assert.equal(await page.isVisible('#signed-in'), false, 'the profile is hidden once logged out');
    assert.equal(await fetchStatus(page, '/api/me'), 401);
    assert.equal(await sessionCookie(context), undefined, 'the session cookie is deleted');
  });

  it('logs out everywhere: every other device of the user gets 401', async () => {
    ready();
    const a = await openDevice(browser, sample.url);
    const b = await openDevice(browser, sample.url);
    await logInWithCode(a.page, user);
    await logInWithCode(b.page, user);
    await b.page.click('#refresh');
    await waitForDevices(b.page, 2);

    await a.page.click('#logout-all');
    await a.page.waitForSelector('#signed-out', { state: 'visible' });
    assert.match(await message(a.page), /Logged out everywhere \(2 sessions\)/);
    assert.equal(await fetchStatus(a.page, '/api/me'), 401);
    assert.equal(await fetchStatus(b.page, '/api/me'), 401);
    assert.equal(await sessionCookie(a.context), undefined);
  });
});
