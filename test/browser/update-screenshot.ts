// Regenerates docs/sample.png, the README's picture of the sample page:
//   npm run build:test && node build/test/browser/update-screenshot.js
// Same flow as the browser test (real app, real sidecar, Chromium). Not a test: run it by hand
// when the page changes, and commit the PNG.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './support/chromium';
import { repoRoot } from './support/paths';
import { startSample } from './support/sample-server';
import { logInWithCode, register, waitForDevices } from './support/sample-page';

// Two realistic devices for the picture (the server shows whatever user agent it receives).
const LAPTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const PHONE_UA = 'Mozilla/5.0 (Android 15; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0';

async function main(): Promise<void> {
  const sample = await startSample();
  const browser = await launchChromium();
  try {
    const user = { name: 'Ada Lovelace', email: 'ada@example.test', password: 'correct horse battery' };
    const viewport = { width: 1000, height: 520 };
    const laptop = await (await browser.newContext({ viewport, userAgent: LAPTOP_UA })).newPage();
    const phone = await (await browser.newContext({ viewport, userAgent: PHONE_UA })).newPage();
    await laptop.goto(sample.url);
    await register(laptop, user);
    await logInWithCode(laptop, user);
    await phone.goto(sample.url);
    await logInWithCode(phone, user);
    for (let i = 0; i < 3; i++) await laptop.click('#refresh');
    await waitForDevices(laptop, 2);
    const out = join(repoRoot(), 'docs', 'sample.png');
    mkdirSync(join(repoRoot(), 'docs'), { recursive: true });
    await laptop.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
    await sample.app.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
