'use strict';
// The platforms that get a prebuilt sidecar, each in its own npm package (as esbuild, Biome and
// SWC ship theirs): `os`/`cpu` let npm, pnpm and yarn install only the one that fits, from the
// main package's optionalDependencies. Node names the platform (process.platform/arch); Go
// builds it (GOOS/GOARCH). Linux has one package for glibc and musl: the binary is static.
// The module reads the packed list (sidecar/prebuilt.json), never this file.

const SCOPE = '@nestjs-xems';

const PLATFORMS = [
  { os: 'linux', cpu: 'x64', goos: 'linux', goarch: 'amd64', label: 'Linux x64 (glibc and musl)' },
  { os: 'linux', cpu: 'arm64', goos: 'linux', goarch: 'arm64', label: 'Linux arm64 (glibc and musl)' },
  { os: 'darwin', cpu: 'x64', goos: 'darwin', goarch: 'amd64', label: 'macOS x64 (Intel)' },
  { os: 'darwin', cpu: 'arm64', goos: 'darwin', goarch: 'arm64', label: 'macOS arm64 (Apple silicon)' },
  { os: 'win32', cpu: 'x64', goos: 'windows', goarch: 'amd64', label: 'Windows x64' },
  { os: 'win32', cpu: 'arm64', goos: 'windows', goarch: 'arm64', label: 'Windows arm64' },
].map((p) => ({
  ...p,
  tag: `${p.os}-${p.cpu}`,
  packageName: `${SCOPE}/sidecar-${p.os}-${p.cpu}`,
  binary: p.os === 'win32' ? 'bin/xems-sidecar.exe' : 'bin/xems-sidecar',
}));

module.exports = { PLATFORMS, SCOPE };
