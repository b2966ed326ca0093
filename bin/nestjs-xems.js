#!/usr/bin/env node
// The `nestjs-xems` command line tool, shipped in the npm package.
//
//   npx nestjs-xems build-sidecar   compile the Go sidecar for this machine (needs Go)
//   npx nestjs-xems secret          print a fresh vault secret (persistence.secret)
//   npx nestjs-xems vault verify|rekey --path <dir>   check or re-seal an encrypted vault
//   npx nestjs-xems --help
//
// Prebuilt sidecars come in the optional platform packages (@nestjs-xems/sidecar-<platform>-<arch>);
// build-sidecar is for the platforms without one, or for building from the shipped sources on
// purpose (a binary built here is preferred over the platform package). CommonJS on purpose: it
// runs with a bare `node`, before anything is compiled.
'use strict';

const { spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_ROOT = path.resolve(__dirname, '..');
const SIDECAR_DIR = path.join(PACKAGE_ROOT, 'sidecar');
const MIN_GO = '1.24';

const USAGE = `Usage: nestjs-xems <command> [options]

Commands:
  build-sidecar   Compile the Go sidecar (xems-sidecar) from the sources shipped in this
                  package into sidecar/bin/<platform>-<arch>/, where the module looks for it
                  before the prebuilt platform package (@nestjs-xems/sidecar-<platform>-<arch>).
                  Needs Go ${MIN_GO} or later on PATH (set GO to use another go binary).
  secret          Print a fresh vault secret for persistence.secret: 32 bytes from the
                  operating system's random source, as "base64:...". Store it like a password
                  (e.g. in XEMS_SECRET); whoever has it and the vault can read the sessions.
  vault verify    Check every entry of an encrypted vault and print its records per sandbox.
  vault rekey     Re-seal a vault under a new secret and/or machine identity.
                  "nestjs-xems vault --help" for their options; secrets are read from
                  XEMS_SECRET / XEMS_NEW_SECRET or stdin, never from the command line.

Options:
  -h, --help      Show this help.
  -v, --version   Show the package version.

Instead of building, you can point the module at any xems-sidecar binary with the
XEMS_SIDECAR_PATH environment variable or the sidecar.binaryPath option (such a binary is
not checked against the SHA-256 recorded for the prebuilt ones).
`;

/** A failure the user can fix: printed without a stack trace, exit code 1. */
class CliError extends Error {}

function packageVersion() {
  return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;
}

/** Where the module looks for the binary on this machine (mirrors src/sidecar/binary-locator.ts). */
function binaryTarget() {
  const name = process.platform === 'win32' ? 'xems-sidecar.exe' : 'xems-sidecar';
  return path.join(SIDECAR_DIR, 'bin', `${process.platform}-${process.arch}`, name);
}

/** Returns the `go version` line, or throws a CliError explaining how to get Go. */
function findGo(goBinary) {
  const probe = spawnSync(goBinary, ['version'], { encoding: 'utf8' });
  if (probe.error && probe.error.code === 'ENOENT') {
    throw new CliError(
      `Go was not found (looked for "${goBinary}" on PATH).\n` +
        `  build-sidecar compiles the sidecar from source and needs Go ${MIN_GO}+: install it from https://go.dev/dl/\n` +
        '  (or your package manager) and run this command again. Alternatively, build xems-sidecar on\n' +
        '  another machine and point the module at it with XEMS_SIDECAR_PATH or sidecar.binaryPath.',
    );
  }
  if (probe.error || probe.status !== 0) {
    throw new CliError(`"${goBinary} version" failed: ${probe.error ? probe.error.message : probe.stderr.trim()}`);
  }
  return probe.stdout.trim();
}

function buildSidecar() {
  if (!fs.existsSync(path.join(SIDECAR_DIR, 'go.mod'))) {
    throw new CliError(
      `The sidecar's Go sources are missing (no ${path.join(SIDECAR_DIR, 'go.mod')}). ` + 'Reinstall nestjs-xems; the package ships them.',
    );
  }
  const goBinary = process.env.GO || 'go';
  const goVersion = findGo(goBinary);
  const output = binaryTarget();
  process.stderr.write(`nestjs-xems: building the sidecar with ${goVersion}\n`);
  goBuild({ goBinary, output, env: process.env });
  process.stdout.write(`nestjs-xems: sidecar built at ${output}\n`);
}

/**
 * The one `go build` of the sidecar, for this machine (build-sidecar, npm run build:sidecar) and
 * for the prebuilt platform packages (scripts/pack.js, with GOOS/GOARCH in env). Reproducible:
 * no cgo (a static binary: one Linux build serves glibc and musl), no file paths (-trimpath), no
 * VCS stamp (-buildvcs=false: a checkout and a packed copy build alike), an empty build id; the
 * package version is stamped in, which the handshake compares with the module's.
 */
function goBuild({ goBinary = 'go', output, env = process.env, version = packageVersion(), dir = SIDECAR_DIR }) {
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const args = [
    'build',
    '-trimpath',
    '-buildvcs=false',
    '-ldflags',
    `-s -w -buildid= -X main.version=${version}`,
    '-o',
    output,
    './cmd/xems-sidecar',
  ];
  const build = spawnSync(goBinary, args, { cwd: dir, stdio: 'inherit', env: { ...env, CGO_ENABLED: '0' } });
  if (build.error) throw new CliError(`go build could not run: ${build.error.message}`);
  if (build.status !== 0) throw new CliError(`go build failed (exit code ${build.status}); see its output above.`);
}

/**
 * The compiled module (the vault commands reuse its secret rules, machine identity and binary
 * lookup): dist/ in an installed package, build/src/ in a development checkout after
 * "npm run build:test". When both exist, the newer one.
 */
function loadLibrary(relative) {
  const candidates = ['dist', path.join('build', 'src')]
    .map((dir) => path.join(PACKAGE_ROOT, dir, relative))
    .filter((file) => fs.existsSync(file))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (candidates.length === 0) {
    throw new CliError(
      `The compiled module is missing (${path.join('dist', relative)}): reinstall nestjs-xems, or run "npm run build" in a checkout.`,
    );
  }
  return require(candidates[0]);
}

/** vault verify|rekey: returns a promise of the exit code. */
function runVault(args) {
  const cli = loadLibrary(path.join('persistence', 'vault-cli.js'));
  return cli
    .runVaultCommand(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env })
    .catch((err) => {
      if (err instanceof cli.VaultCliError || (err && err.name === 'XemsSidecarError')) {
        process.stderr.write(`nestjs-xems: ${err.message}\n`);
        return err.exitCode ?? 1;
      }
      throw err;
    });
}

function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (command === 'secret') {
    if (rest.length > 0) throw new CliError(`secret takes no arguments (got: ${rest.join(' ')}).`);
    process.stdout.write(`base64:${randomBytes(32).toString('base64')}\n`);
    return 0;
  }
  if (command === 'vault') return runVault(rest);
  if (command === 'build-sidecar') {
    if (rest.includes('-h') || rest.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (rest.length > 0) throw new CliError(`build-sidecar takes no arguments (got: ${rest.join(' ')}).`);
    buildSidecar();
    return 0;
  }
  throw new CliError(`Unknown command "${command}". Run "nestjs-xems --help" for the list of commands.`);
}

if (require.main === module) {
  try {
    Promise.resolve(main(process.argv.slice(2))).then(
      (code) => {
        process.exitCode = code;
      },
      (err) => {
        process.stderr.write(`nestjs-xems: ${err instanceof CliError ? err.message : err && err.stack}\n`);
        process.exitCode = 1;
      },
    );
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`nestjs-xems: ${err.message}\n`);
    process.exitCode = 1;
  }
}

module.exports = { main, binaryTarget, buildSidecar, goBuild, findGo, packageVersion, CliError, SIDECAR_DIR };
