"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.SIDECAR_PATH_ENV = void 0;
exports.platformTag = platformTag;
exports.binaryFileName = binaryFileName;
exports.packageRoot = packageRoot;
exports.bundledBinaryPath = bundledBinaryPath;
exports.locateSidecarBinary = locateSidecarBinary;
const node_fs_1 = require("node:fs");
const node_path_1 = require("node:path");
const xems_errors_1 = require("../xems.errors");
exports.SIDECAR_PATH_ENV = 'XEMS_SIDECAR_PATH';
const PACKAGE_NAME = 'nestjs-xems';
/** `<platform>-<arch>` as Node names them, e.g. `linux-x64`: the folder of the shipped binary. */
function platformTag(platform = process.platform, arch = process.arch) {
    return `${platform}-${arch}`;
}
function binaryFileName(platform = process.platform) {
    return platform === 'win32' ? 'xems-sidecar.exe' : 'xems-sidecar';
}
/**
 * The package root: the nearest folder above this file whose package.json is nestjs-xems.
 * Walking up works from dist/sidecar/ (published) and from build/src/sidecar/ (tests).
 */
function packageRoot(start = __dirname) {
    let dir = start;
    for (;;) {
        const manifest = (0, node_path_1.join)(dir, 'package.json');
        if ((0, node_fs_1.existsSync)(manifest)) {
            try {
                if (JSON.parse((0, node_fs_1.readFileSync)(manifest, 'utf8')).name === PACKAGE_NAME)
                    return dir;
            }
            catch {
                // an unreadable package.json on the way up is not ours; keep walking
            }
        }
        const parent = (0, node_path_1.dirname)(dir);
        if (parent === dir)
            return undefined;
        dir = parent;
    }
}
/** Where the package keeps the binary for this platform. */
function bundledBinaryPath(root = packageRoot()) {
    return root === undefined ? undefined : (0, node_path_1.join)(root, 'sidecar', 'bin', platformTag(), binaryFileName());
}
function isExecutableFile(path) {
    try {
        if (!(0, node_fs_1.statSync)(path).isFile())
            return false;
        (0, node_fs_1.accessSync)(path, node_fs_1.constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
const BUILD_HINT = 'Build it with "npm run build:sidecar" inside the nestjs-xems package (needs Go), or "npx nestjs-xems build-sidecar" in your app; ' +
    `or point sidecar.binaryPath / ${exports.SIDECAR_PATH_ENV} at a built xems-sidecar binary.`;
/**
 * Finds the sidecar binary: options.sidecar.binaryPath, then XEMS_SIDECAR_PATH, then the binary
 * inside the package for this platform. An explicitly configured path that is missing is an
 * error (never a silent fallback to another binary).
 */
function locateSidecarBinary(configured, env = process.env, root) {
    const explicit = [
        ['sidecar.binaryPath', configured],
        [exports.SIDECAR_PATH_ENV, env[exports.SIDECAR_PATH_ENV] || undefined],
    ];
    for (const [source, value] of explicit) {
        if (value === undefined)
            continue;
        const path = (0, node_path_1.resolve)(value);
        if (isExecutableFile(path))
            return path;
        throw new xems_errors_1.XemsSidecarError('SIDECAR_NOT_FOUND', `The xems sidecar binary given by ${source} (${path}) does not exist or is not executable`, BUILD_HINT);
    }
    const bundled = bundledBinaryPath(root ?? packageRoot());
    if (bundled !== undefined && isExecutableFile(bundled))
        return bundled;
    throw new xems_errors_1.XemsSidecarError('SIDECAR_NOT_FOUND', `No xems sidecar binary for ${platformTag()} at ${bundled ?? '(nestjs-xems package root not found)'}`, BUILD_HINT);
}
//# sourceMappingURL=binary-locator.js.map