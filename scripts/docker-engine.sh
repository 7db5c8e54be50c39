#!/usr/bin/env bash
# Makes sure a Docker engine answers, for `make docker-test` on a bare CI machine or
# dev box. As root, it installs what is missing from Debian's packages — docker.io
# (engine 20.10 with BuildKit), busybox-static (for the offline golang stand-in) and
# qemu-user-static (to run the arm64/armv7 images) — and, if no engine answers, starts
# dockerd in the background with the vfs storage driver and no iptables/bridge (the
# tests use the host network).
# Exit status 0 when an engine answers afterwards, 1 when it cannot be had here.
set -uo pipefail

engine_up() { docker info >/dev/null 2>&1 || /usr/bin/docker info >/dev/null 2>&1; }
say() { echo "docker-engine: $*" >&2; }

if [[ $(id -u) != 0 ]]; then
	engine_up && exit 0
	say "no Docker engine answers, and only root can start one here"
	exit 1
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v busybox >/dev/null || need+=(busybox-static)
[[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ]] || need+=(qemu-user-static binfmt-support)
if ((${#need[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null || say "apt-get install ${need[*]} failed"
fi

if ! engine_up; then
	command -v dockerd >/dev/null || { say "no dockerd"; exit 1; }
	log=${TMPDIR:-/tmp}/t2m-dockerd.log
	nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >"$log" 2>&1 &
	for _ in $(seq 60); do
		engine_up && break
		sleep 0.5
	done
	engine_up || { say "dockerd did not start:"; tail -20 "$log" >&2; exit 1; }
	say "started dockerd (log: $log)"
fi

# Foreign-architecture images run under qemu through binfmt_misc; without it the
# tests still build and inspect them but run only the amd64 ones.
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
	[[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null
	update-binfmts --enable qemu-aarch64 >/dev/null 2>&1
	update-binfmts --enable qemu-arm >/dev/null 2>&1
	[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || say "no qemu binfmt: arm images are built and inspected, not run"
fi
exit 0
