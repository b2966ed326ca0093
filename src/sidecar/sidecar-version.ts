import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XemsProtocolError } from '../xems.errors';
import { packageRoot } from './binary-locator';

/** What an unstamped sidecar build reports as its version (go build without -ldflags -X main.version). */
export const DEV_BUILD = 'dev';

let cachedVersion: string | null | undefined;

/** The version of this nestjs-xems package (its package.json), or undefined if it cannot be found. */
export function packageVersion(): string | undefined {
  if (cachedVersion === undefined) {
    cachedVersion = null;
    const root = packageRoot();
    if (root !== undefined) {
      try {
        const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version;
        if (typeof version === 'string' && version !== '') cachedVersion = version;
      } catch {
        cachedVersion = null;
      }
    }
  }
  return cachedVersion ?? undefined;
}

/**
 * The module's half of the handshake's version check (the sidecar checks CONFIGURE's client
 * version in turn). HELLO's build version is `<version>+<go version>`; the binary must have
 * been built as this package's version. Returns 'same', or 'dev' for a development build
 * (accepted: the caller warns once), or 'unknown' when this package's version cannot be read;
 * throws an XemsProtocolError naming both versions and the fix for any other version.
 */
export function checkSidecarVersion(buildVersion: string, expected: string | undefined, binaryPath: string): 'same' | 'dev' | 'unknown' {
  const sidecarVersion = buildVersion.split('+', 1)[0];
  if (sidecarVersion === DEV_BUILD) return 'dev';
  if (expected === undefined) return 'unknown';
  if (sidecarVersion === expected) return 'same';
  throw new XemsProtocolError(
    'VERSION_MISMATCH',
    `The xems sidecar ${binaryPath} is version ${sidecarVersion} (build ${buildVersion}); this nestjs-xems package is version ${expected}`,
    `Use the sidecar of the installed package: reinstall nestjs-xems (npm ci) so that its binary matches, build one with "npx nestjs-xems build-sidecar" ("npm run build:sidecar" in the repository), or point sidecar.binaryPath / XEMS_SIDECAR_PATH at a binary built as ${expected}.`,
  );
}
