import type { Page } from 'playwright-core';

export interface DemoUser {
  name: string;
  email: string;
  password: string;
}

const TIMEOUT = 10_000;

/** Reads the page's status line (success or error message). */
export async function message(page: Page): Promise<string> {
  return (await page.textContent('#message')) ?? '';
}

/** Fills and submits the register form; resolves once the page confirms. */
export async function register(page: Page, user: DemoUser): Promise<void> {
  await page.fill('#register-form input[name=name]', user.name);
  await page.fill('#register-form input[name=email]', user.email);
  await page.fill('#register-form input[name=password]', user.password);
  await page.click('#register-form button[type=submit]');
  await page.waitForFunction(
    () => /Account created|already exists|must/.test(document.getElementById('message')?.textContent ?? ''),
    undefined,
    { timeout: TIMEOUT },
  );
}

/** Password step, then the one-time code shown in the page; returns the code it used. */
export async function logInWithCode(page: Page, user: DemoUser): Promise<string> {
  await page.fill('#login-form input[name=email]', user.email);
  await page.fill('#login-form input[name=password]', user.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#otp-form', { state: 'visible', timeout: TIMEOUT });
  const code = ((await page.textContent('#otp-code')) ?? '').trim();
  await page.fill('#otp-form input[name=code]', code);
  await page.click('#otp-form button[type=submit]');
  await page.waitForSelector('#signed-in', { state: 'visible', timeout: TIMEOUT });
  return code;
}

/** Waits until the device table shows `count` rows. */
export async function waitForDevices(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelectorAll('#devices tr').length === n, count, { timeout: TIMEOUT });
}

/** One fetch from inside the page (same cookies as the page, like its own script). */
export function fetchStatus(page: Page, path: string, method = 'GET'): Promise<number> {
  return page.evaluate(async ([p, m]) => (await fetch(p, { method: m, credentials: 'include' })).status, [path, method] as const);
}
