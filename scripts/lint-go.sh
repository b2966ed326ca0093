#!/usr/bin/env bash
# The Go half of the lint gate (`npm run lint:go`, and the "lint" step of .ci/run): in sidecar/,
# gofmt must list no file, go vet must be clean, and so must staticcheck (pinned below, built
# through the Go module proxy) for Linux, Windows and macOS. Exits non-zero if any check fails,
# after running them all.
set -uo pipefail

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/sidecar" || exit 1
failed=()

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt: these files are not formatted (run: cd sidecar && gofmt -w .):"
  echo "$unformatted"
  failed+=(gofmt)
fi

go vet ./... || failed+=("go vet")

# Built once for this machine, then run per target: GOOS picks the files it reads (lock_other.go,
# harden_other.go, ...). The xemsdebug tag adds the test-only op of the protocol tests; no file
# is built only without it, so the Linux run with the tag covers every Linux file.
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
if GOBIN="$tools" go install "$STATICCHECK"; then
  "$tools/staticcheck" -tags xemsdebug ./... || failed+=("staticcheck linux")
  GOOS=darwin "$tools/staticcheck" ./... || failed+=("staticcheck darwin")
  # internal/redisstore is left out on Windows (as by .ci/run's go vet): its tests stop a Redis
  # server with SIGSTOP, a Unix signal.
  GOOS=windows "$tools/staticcheck" $(GOOS=windows go list ./... | grep -v /internal/redisstore) || failed+=("staticcheck windows")
else
  failed+=("go install $STATICCHECK")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint-go: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint-go: gofmt, go vet, staticcheck (linux, darwin, windows): clean"
