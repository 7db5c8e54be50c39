#!/usr/bin/env bash
# Tests examples/node-red/flow.json and commands.json in a real Node-RED: e2e/nodered_test.go runs
# the bridge against mosquitto and a local Teslemetry-format SSE server, starts
# Node-RED with the example flow (broker pointed at the test's mosquitto, plus
# probe nodes that republish what the flow produced) and checks that the flow
# imports without missing node types and that msg.payload has the types the
# example's README documents, for retained values, a live value and SIGTERM;
# e2e/nodered_commands_test.go presses commands.json's inject button and checks
# the REST request the bridge sends and the result the flow reads.
#
#   bash scripts/nodered-test.sh          # needs node + npm and the npm registry once
#
# Node-RED is installed once with npm into $T2M_NODERED_CACHE (default
# /var/tmp/t2m-nodered), one directory per pinned version; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'nodered-test: %s\n' "$*" >&2; exit 1; }
# Exit status 3: this machine cannot run the test (no node/npm, no registry),
# as opposed to 1, the example flow failed its test (same convention as
# scripts/systemd-test.sh).
unavailable() { printf 'nodered-test: cannot run here: %s\n' "$*" >&2; exit 3; }

# The last 4.x release; 4.x needs Node.js >= 18.5 (package.json "engines").
# 5.x is left for a deliberate bump: the example targets what Home Assistant's
# Node-RED app and most installs run today.
NODERED_VERSION=4.1.15
NODE_MIN_MAJOR=18
CACHE=${T2M_NODERED_CACHE:-/var/tmp/t2m-nodered}
start=$SECONDS

# --- host tools --------------------------------------------------------------------
command -v node >/dev/null || unavailable "no node on PATH (Node-RED ${NODERED_VERSION} needs Node.js >= 18.5)"
command -v npm >/dev/null || unavailable "no npm on PATH"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= NODE_MIN_MAJOR)) || unavailable "Node.js $(node --version) is too old for Node-RED ${NODERED_VERSION} (needs >= 18.5)"
# mosquitto too: without it the e2e harness skips instead of failing.
if ! command -v mosquitto >/dev/null; then
	((EUID == 0)) || unavailable "mosquitto is not installed (apt-get install mosquitto)"
	log "installing mosquitto"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq mosquitto >/dev/null; } ||
		unavailable "cannot install mosquitto (no Debian package mirror?)"
fi
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || unavailable "no Go toolchain on PATH"

# --- the cached Node-RED -------------------------------------------------------------
dir=$CACHE/node-red-$NODERED_VERSION
redjs=$dir/node_modules/node-red/red.js
mkdir -p "$CACHE"
# One installer at a time; a second run waits and then finds the cache ready.
exec 9>"$CACHE/lock"
flock 9

install_nodered() {
	local tmp=$dir.tmp.$$ ilog=$CACHE/npm-install-$NODERED_VERSION.log t0=$SECONDS
	rm -rf "$dir".tmp.*
	# A half-installed tree is never cached: the tmp directory goes on any failure.
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp"
	log "npm install node-red@$NODERED_VERSION into $tmp"
	# npm's own cache lives in $CACHE too, so removing $CACHE means a really cold install.
	(cd "$tmp" && npm install --no-audit --no-fund --no-update-notifier --cache "$CACHE/npm-cache" \
		"node-red@$NODERED_VERSION") >"$ilog" 2>&1 ||
		{ tail -15 "$ilog" >&2; unavailable "npm install node-red@$NODERED_VERSION failed (no npm registry?); full log: $ilog"; }
	[[ -f $tmp/node_modules/node-red/red.js ]] || die "npm installed no node_modules/node-red/red.js"
	mv "$tmp" "$dir"
	trap - EXIT
	log "installed Node-RED $NODERED_VERSION ($(du -sh "$dir" | cut -f1)) in $((SECONDS - t0)) s"
}

if [[ -f $redjs ]]; then
	log "using cached $dir (install skipped: 0 s)"
else
	install_nodered
fi
exec 9>&- # unlock: the test only reads the installation

# --- the test ----------------------------------------------------------------------
log "testing examples/node-red/flow.json and commands.json with Node-RED $NODERED_VERSION ($(node --version))"
T2M_NODERED=$redjs go test -race -count=1 -timeout 10m -run '^TestNodeRED' -v ./e2e/ ||
	die "Node-RED example flow test failed"
log "done in $((SECONDS - start)) s"
