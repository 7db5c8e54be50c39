#!/usr/bin/env bash
# Tests the status page in a real browser: e2e/browser_test.go runs
# `teslemetry2mqtt demo --http ...`, opens the page in Debian's chromium
# (headless, driven over the DevTools protocol), directly and behind a stand-in
# for Home Assistant's ingress proxy, and checks that both demo cars and their
# values are rendered, that new data shows up on screen within 2 s, that the
# page fits a phone and that the browser console stays free of errors.
# Screenshots go to e2e/artifacts/ (git-ignored).
#
#   bash scripts/browser-test.sh          # installs chromium with apt-get when missing (root)
#
# Exit status 3: this machine cannot run the test (no chromium and no way to
# install it), as opposed to 1, the page failed its test (same convention as
# scripts/nodered-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'browser-test: %s\n' "$*" >&2; exit 1; }
unavailable() { printf 'browser-test: cannot run here: %s\n' "$*" >&2; exit 3; }
start=$SECONDS

chromium=${T2M_CHROMIUM:-$(command -v chromium || true)}
if [[ -z $chromium ]]; then
	((EUID == 0)) || unavailable "chromium is not installed (apt-get install chromium) and this is not root"
	command -v apt-get >/dev/null || unavailable "chromium is not installed and there is no apt-get"
	log "installing chromium"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } ||
		unavailable "cannot install chromium (no Debian package mirror?)"
	chromium=$(command -v chromium) || unavailable "chromium installed but not on PATH"
fi
log "using $("$chromium" --version 2>/dev/null || echo "$chromium")"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || unavailable "no Go toolchain on PATH"

mkdir -p e2e/artifacts
T2M_CHROMIUM=$chromium T2M_ARTIFACTS="$PWD/e2e/artifacts" \
	go test -race -count=1 -timeout 10m -run '^TestStatusPageInBrowser$' -v ./e2e/ ||
	die "status page browser test failed (screenshots, if any, in e2e/artifacts/)"
log "screenshots: $(ls e2e/artifacts/*.png 2>/dev/null | tr '\n' ' ')"
log "done in $((SECONDS - start)) s"
