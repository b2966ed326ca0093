#!/usr/bin/env bash
# Runs the compiled module spec and the session e2e specs against NestJS 11 (the repository
# develops against 12). Copies build/src and build/test into a temp dir whose node_modules holds
# NestJS 11, so every require('@nestjs/...') from the copied files resolves there, and points
# XEMS_SIDECAR_PATH at this repository's sidecar binary. Prints the installed @nestjs/core
# version and the runner's TAP output ("# pass N", "# fail N"); exits with the runner's code.
# Only these three specs run here; the layout-bound ones (test/pack, test/browser,
# src/sidecar/binary-locator.spec) look at paths outside the copied tree and stay in npm test.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sidecar="$root/sidecar/bin/$(node -p 'process.platform + "-" + process.arch')/xems-sidecar"
[ -x "$sidecar" ] || npm run --silent build:sidecar
[ -d build/src ] && [ -d build/test ] || npm run --silent build:test

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xems-nest11.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/build"
cp -R build/src build/test "$tmp/build/"
# Not named nestjs-xems, so the binary locator cannot find this repository's package root.
printf '{ "name": "xems-nest11-check", "private": true }\n' >"$tmp/package.json"

echo "nest11-check: installing NestJS 11 in $tmp"
(cd "$tmp" && npm install --no-audit --no-fund --loglevel=error \
  @nestjs/common@^11 @nestjs/core@^11 @nestjs/platform-express@^11 @nestjs/platform-fastify@^11 @nestjs/testing@^11 \
  reflect-metadata rxjs class-validator class-transformer cookie@^1 on-headers supertest express-session)
echo "nest11-check: @nestjs/core $(cd "$tmp" && node -p 'require("@nestjs/core/package.json").version')"

specs=(build/src/xems.module.spec.js build/test/sessions.e2e-spec.js build/test/session-devices.e2e-spec.js)
cd "$tmp"
set +e
XEMS_SIDECAR_PATH="$sidecar" node --test --test-concurrency=2 --test-timeout=60000 \
  --test-reporter=tap --test-reporter-destination=stdout "${specs[@]}"
rc=$?
set -e
exit "$rc"
