import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { XemsSidecarChecksumError, XemsSidecarError } from '../xems.errors';

export const SIDECAR_PATH_ENV = 'XEMS_SIDECAR_PATH';
const PACKAGE_NAME = 'nestjs-xems';
/** Written by scripts/pack.js into the packed package: the platform packages and their binaries' SHA-256. */
export const PREBUILT_MANIFEST = join('sidecar', 'prebuilt.json');

/** `<platform>-<arch>` as Node names them, e.g. `linux-x64`. */
export function platformTag(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

export function binaryFileName(platform: string = process.platform): string {
  return platform === 'win32' ? 'xems-sidecar.exe' : 'xems-sidecar';
}

export interface PrebuiltPlatform {
  /** The optional dependency that holds the binary, e.g. `@nestjs-xems/sidecar-linux-x64`. */
  package: string;
  /** The binary inside that package, relative to its root. */
  binary: string;
  sha256: string;
}

export interface PrebuiltManifest {
  version: string;
  platforms: Record<string, PrebuiltPlatform>;
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

/** Where `npx nestjs-xems build-sidecar` (and `npm run build:sidecar` in a checkout) puts the binary. */
export function builtBinaryPath(root: string | undefined = packageRoot()): string | undefined {
  return root === undefined ? undefined : join(root, 'sidecar', 'bin', platformTag(), binaryFileName());
}

/** The packed list of prebuilt platforms; undefined in a development checkout (never packed). */
export function readPrebuiltManifest(root: string | undefined): PrebuiltManifest | undefined {
  if (root === undefined || !existsSync(join(root, PREBUILT_MANIFEST))) return undefined;
  return JSON.parse(readFileSync(join(root, PREBUILT_MANIFEST), 'utf8')) as PrebuiltManifest;
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

const BUILD = '"npx nestjs-xems build-sidecar" (builds it from the Go sources shipped in nestjs-xems; needs Go)';
const OVERRIDE = `point sidecar.binaryPath or ${SIDECAR_PATH_ENV} at an xems-sidecar binary (such a binary is not checked)`;

/**
 * Finds the sidecar binary, in this order:
 * 1. `sidecar.binaryPath`, then `XEMS_SIDECAR_PATH`: the user's choice, used as given (not
 *    checked); a missing or non-executable path is an error, never a fallback to another binary.
 * 2. A binary built on this machine by `npx nestjs-xems build-sidecar` (from the shipped sources).
 * 3. The prebuilt binary of the platform package (an optional dependency), found with
 *    require.resolve from the package root, and checked against the SHA-256 recorded in the
 *    main package when it was packed: a mismatch refuses the start.
 */
export function locateSidecarBinary(configured?: string, env: NodeJS.ProcessEnv = process.env, root: string | undefined = packageRoot()): string {
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
      `Fix the path, or remove it to use the prebuilt binary of nestjs-xems (or one built with ${BUILD}).`,
    );
  }
  const built = builtBinaryPath(root);
  if (built !== undefined && isExecutableFile(built)) return built;
  return prebuiltBinary(root, readPrebuiltManifest(root));
}

function prebuiltBinary(root: string | undefined, manifest: PrebuiltManifest | undefined): string {
  const tag = platformTag();
  const entry = manifest?.platforms[tag];
  if (root === undefined || manifest === undefined || entry === undefined) {
    const shipped = manifest ? ` (prebuilt binaries exist for ${Object.keys(manifest.platforms).join(', ')})` : '';
    throw new XemsSidecarError(
      'SIDECAR_NOT_FOUND',
      `No xems sidecar binary for ${tag}${shipped}${manifest ? '' : `: none was built at ${builtPathText(root)}`}`,
      `Build one with ${BUILD}, or ${OVERRIDE}.`,
    );
  }
  const install = `${entry.package}@${manifest.version}`;
  let packageJson: string;
  try {
    packageJson = require.resolve(`${entry.package}/package.json`, { paths: [root] });
  } catch {
    throw new XemsSidecarError(
      'SIDECAR_NOT_FOUND',
      `The prebuilt xems sidecar for ${tag} is missing: the package ${entry.package} is not installed (an install with --omit=optional or --no-optional leaves it out)`,
      `Install it: "npm install ${install}" (or let your package manager install nestjs-xems's optional dependencies); or ${BUILD}; or ${OVERRIDE}.`,
    );
  }
  const binary = join(dirname(packageJson), entry.binary);
  if (!isExecutableFile(binary)) {
    throw new XemsSidecarError(
      'SIDECAR_NOT_FOUND',
      `The package ${entry.package} is installed but its binary ${binary} is missing or not executable`,
      `Reinstall it: "npm install ${install}"; or ${BUILD}; or ${OVERRIDE}.`,
    );
  }
  verifyChecksum(binary, entry.sha256, `${PACKAGE_NAME} ${manifest.version}`);
  return binary;
}

function builtPathText(root: string | undefined): string {
  return builtBinaryPath(root) ?? '(nestjs-xems package root not found)';
}

/** Refuses a binary whose SHA-256 differs from the one recorded when the package was packed. */
export function verifyChecksum(file: string, expected: string, recordedIn: string): void {
  const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (actual !== expected.toLowerCase()) throw new XemsSidecarChecksumError(file, expected, actual, recordedIn);
}
