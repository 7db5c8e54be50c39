#!/usr/bin/env bash
# Tests deploy/teslemetry2mqtt.service for real: e2e/systemd_test.go installs the
# bridge into a Debian bookworm root file system exactly as the unit's header
# comment says, boots it with systemd-nspawn (systemd as the container's PID 1)
# and drives the service with systemctl: start at boot as the dedicated user,
# restart after a crash, clean stop, no restart loop on an invalid config, and
# the exposure score of `systemd-analyze security`.
#
#   bash scripts/systemd-test.sh            # as root; needs Debian's mirror once
#
# The root file system (debootstrap minbase + systemd) is built once and cached
# under $T2M_SYSTEMD_CACHE (default /var/tmp/t2m-systemd), keyed by a hash of
# what goes into it. The test boots a copy, so the cache stays pristine.
# The host needs no systemd: the container's systemd runs under nspawn alone.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'systemd-test: %s\n' "$*" >&2; exit 1; }
# Exit status 3: this machine cannot run the test (not root, no mirror, no tools),
# as opposed to 1, the unit failed its test. .ci/run skips loudly on 3 only.
unavailable() { printf 'systemd-test: cannot run here: %s\n' "$*" >&2; exit 3; }

SUITE=bookworm
MIRROR=${T2M_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(systemd systemd-sysv dbus)
# Bump when the way the root file system is prepared changes (the hash covers it).
RECIPE=1
CACHE=${T2M_SYSTEMD_CACHE:-/var/tmp/t2m-systemd}

((EUID == 0)) || unavailable "must run as root (debootstrap, chroot and systemd-nspawn need it)"
start=$SECONDS

# --- host tools --------------------------------------------------------------------
# mosquitto too: without it the e2e harness skips instead of failing.
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v mosquitto >/dev/null || missing+=(mosquitto)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
		unavailable "cannot install ${missing[*]} (no network, or no Debian package mirror?)"
fi
command -v nsenter >/dev/null || unavailable "nsenter (util-linux) is missing"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || unavailable "no Go toolchain on PATH"

# --- the cached root file system --------------------------------------------------
key=$(printf '%s\n' "$RECIPE" "$SUITE" minbase "$MIRROR" "${PACKAGES[@]}" | sha256sum | cut -c1-12)
rootfs=$CACHE/rootfs-$key
mkdir -p "$CACHE"
# One builder at a time; a second run waits and then finds the cache ready.
exec 9>"$CACHE/lock"
flock 9

build_rootfs() {
	local tmp=$rootfs.tmp.$$ dlog=$CACHE/debootstrap-$key.log
	rm -rf "$rootfs".tmp.*
	# The tmp directory is removed on any failure, so a half-built tree is never cached.
	trap 'rm -rf "$tmp"' EXIT
	log "debootstrap $SUITE (minbase) from $MIRROR into $tmp"
	debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$dlog" 2>&1 ||
		{ tail -15 "$dlog" >&2; unavailable "debootstrap failed (no network to $MIRROR?); full log: $dlog"; }
	# Keep package scripts from starting daemons (dbus) inside the chroot, on the host.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 0755 "$tmp/usr/sbin/policy-rc.d"
	log "installing ${PACKAGES[*]} in the chroot"
	chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${PACKAGES[@]}" >>"$dlog" 2>&1 ||
		{ tail -15 "$dlog" >&2; unavailable "apt-get install ${PACKAGES[*]} in the chroot failed; full log: $dlog"; }
	rm -f "$tmp/usr/sbin/policy-rc.d"
	chroot "$tmp" apt-get clean
	[[ -x $tmp/usr/lib/systemd/systemd ]] || die "no /usr/lib/systemd/systemd in the new root file system"
	mv "$tmp" "$rootfs"
	trap - EXIT
	log "cached $rootfs ($(du -sh "$rootfs" | cut -f1)) in $((SECONDS - start)) s"
}

if [[ -x $rootfs/usr/lib/systemd/systemd ]]; then
	log "using cached $rootfs"
else
	build_rootfs
fi
exec 9>&- # unlock: the test works on its own copy

# --- the test ----------------------------------------------------------------------
# The test powers its container off, or kills it on failure. A test that dies
# (timeout panic, Ctrl-C) cannot; its container is named after this run, so it
# is found and killed here: its systemd first (that ends the whole container,
# which nspawn alone would leave running), then nspawn.
sweep() {
	local nspawn init
	for nspawn in $(pgrep -f -- "^systemd-nspawn .*-M t2m-systemd-$$ " || true); do
		for init in $(pgrep -P "$nspawn" || true); do kill -9 "$init" 2>/dev/null || true; done
		sleep 1
		kill -9 "$nspawn" 2>/dev/null || true
		log "killed a container the test left behind (nspawn $nspawn)"
	done
}
# Everything the run writes (the rootfs copy is ~200 MB) goes to one work
# directory, removed even when the test could not clean up after itself.
work=$(mktemp -d "$CACHE/run.XXXXXX")
trap 'sweep; rm -rf "$work"' EXIT
log "testing deploy/teslemetry2mqtt.service"
TMPDIR=$work T2M_SYSTEMD_RUN=$$ T2M_SYSTEMD_ROOTFS=$rootfs go test -race -count=1 -timeout 10m -run '^TestSystemd' -v ./e2e/ ||
	die "systemd unit test failed"
log "done in $((SECONDS - start)) s"
