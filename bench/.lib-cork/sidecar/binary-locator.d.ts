export declare const SIDECAR_PATH_ENV = "XEMS_SIDECAR_PATH";
/** `<platform>-<arch>` as Node names them, e.g. `linux-x64`: the folder of the shipped binary. */
export declare function platformTag(platform?: string, arch?: string): string;
export declare function binaryFileName(platform?: string): string;
/**
 * The package root: the nearest folder above this file whose package.json is nestjs-xems.
 * Walking up works from dist/sidecar/ (published) and from build/src/sidecar/ (tests).
 */
export declare function packageRoot(start?: string): string | undefined;
/** Where the package keeps the binary for this platform. */
export declare function bundledBinaryPath(root?: string | undefined): string | undefined;
/**
 * Finds the sidecar binary: options.sidecar.binaryPath, then XEMS_SIDECAR_PATH, then the binary
 * inside the package for this platform. An explicitly configured path that is missing is an
 * error (never a silent fallback to another binary).
 */
export declare function locateSidecarBinary(configured?: string, env?: NodeJS.ProcessEnv, root?: string): string;
