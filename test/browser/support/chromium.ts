import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Starts headless Chromium with an empty profile. A missing browser is a test FAILURE with the
 * fix in the message, never a skip: the browser test is part of the suite.
 */
export function launchChromium(): Promise<Browser> {
  return launchChromiumWith([]);
}

/** launchChromium with more command-line switches (e.g. --host-resolver-rules). */
export async function launchChromiumWith(args: string[]): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the browser test needs it. ` +
        'Install it with "apt-get update && apt-get install -y chromium" (.ci/run does this), ' +
        'or set CHROMIUM_PATH to a Chromium/Chrome binary.',
    );
  }
  try {
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', ...args] });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} failed to start: ${(err as Error).message}`, { cause: err });
  }
}
