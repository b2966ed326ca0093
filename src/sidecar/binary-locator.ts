import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { XemsSidecarError } from '../xems.errors';

export const SIDECAR_PATH_ENV = 'XEMS_SIDECAR_PATH';
const PACKAGE_NAME = 'nestjs-xems';

/** `<platform>-<arch>` as Node names them, e.g. `linux-x64`: the folder of the shipped binary. */
export function platformTag(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

export function binaryFileName(platform: string = process.platform): string {
  return platform === 'win32' ? 'xems-sidecar.exe' : 'xems-sidecar';
}

/**
 * The package root: the nearest folder above this file whose package.json is nestjs-xems.
 * Walking up works from dist/sidecar/ (published) and from build/src/sidecar/ (tests).
 */
export function packageRoot(start: string = __dirname): string | undefined {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
      } catch {
        // an unreadable package.json on the way up is not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Where the package keeps the binary for this platform. */
export function bundledBinaryPath(root: string | undefined = packageRoot()): string | undefined {
  return root === undefined ? undefined : join(root, 'sidecar', 'bin', platformTag(), binaryFileName());
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const BUILD_HINT =
  'Build it with "npm run build:sidecar" inside the nestjs-xems package (needs Go), or "npx nestjs-xems build-sidecar" in your app; ' +
  `or point sidecar.binaryPath / ${SIDECAR_PATH_ENV} at a built xems-sidecar binary.`;

/**
 * Finds the sidecar binary: options.sidecar.binaryPath, then XEMS_SIDECAR_PATH, then the binary
 * inside the package for this platform. An explicitly configured path that is missing is an
 * error (never a silent fallback to another binary).
 */
export function locateSidecarBinary(configured?: string, env: NodeJS.ProcessEnv = process.env, root?: string): string {
  const explicit: Array<[string, string | undefined]> = [
    ['sidecar.binaryPath', configured],
    [SIDECAR_PATH_ENV, env[SIDECAR_PATH_ENV] || undefined],
  ];
  for (const [source, value] of explicit) {
    if (value === undefined) continue;
    const path = resolve(value);
    if (isExecutableFile(path)) return path;
    throw new XemsSidecarError(
      'SIDECAR_NOT_FOUND',
      `The xems sidecar binary given by ${source} (${path}) does not exist or is not executable`,
      BUILD_HINT,
    );
  }
  const bundled = bundledBinaryPath(root ?? packageRoot());
  if (bundled !== undefined && isExecutableFile(bundled)) return bundled;
  throw new XemsSidecarError(
    'SIDECAR_NOT_FOUND',
    `No xems sidecar binary for ${platformTag()} at ${bundled ?? '(nestjs-xems package root not found)'}`,
    BUILD_HINT,
  );
}
