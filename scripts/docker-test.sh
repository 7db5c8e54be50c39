#!/usr/bin/env bash
# Builds the plain Docker image (linux/amd64, linux/arm64, linux/arm/v7) and the Home
# Assistant add-on image (linux/amd64, linux/arm64) from this work tree with BuildKit,
# then runs e2e/docker_test.go against them: image metadata, the binary of every
# platform (foreign ones under qemu when binfmt is set up), and the amd64 images for
# real against mosquitto, a local Teslemetry-format SSE server and a fake Supervisor.
#
#   make docker-test                  # needs a running Docker engine
#   T2M_BASE_IMAGES=standin make docker-test
#
# T2M_BASE_IMAGES:
#   auto     (default) pull golang:1.26 and distroless; if no registry answers, use stand-ins
#   registry the real base images only
#   standin  local stand-ins, for machines without registry access: golang:1.26 is this
#            machine's Go toolchain + a static busybox shell; distroless/static-debian12 is
#            a scratch image with its users (root, nonroot 65532, nobody), CA certificates
#            and zoneinfo. The Dockerfiles are built unchanged; only FROM resolves locally.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'docker-test: %s\n' "$*" >&2; exit 1; }

# --- a Docker client that can build with BuildKit --------------------------------
# Docker 23+ clients build through the buildx plugin; older clients (Debian's docker.io
# 20.10) use the engine's BuildKit with DOCKER_BUILDKIT=1.
pick_client() {
	local c major
	for c in ${DOCKER:-} docker /usr/bin/docker; do
		command -v "$c" >/dev/null 2>&1 || continue
		if "$c" buildx version >/dev/null 2>&1; then
			DOCKER=$c BUILD=(buildx build --load) && return
		fi
		major=$("$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1) || true
		if [[ $major =~ ^[0-9]+$ ]] && ((major < 23)); then
			DOCKER=$c BUILD=(build) && export DOCKER_BUILDKIT=1 && return
		fi
	done
	die "no Docker client with BuildKit (install the buildx plugin, or Debian's docker.io)"
}
pick_client
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers $DOCKER (start dockerd)"
log "client $DOCKER ($("$DOCKER" version --format '{{.Client.Version}}'), engine $("$DOCKER" version --format '{{.Server.Version}}'))"

VERSION=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' addon/config.yaml)
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GOLANG=golang:1.26
DISTROLESS=gcr.io/distroless/static-debian12
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- base images --------------------------------------------------------------------
mode=${T2M_BASE_IMAGES:-auto}
if [[ $mode == auto ]]; then
	if timeout 120 "$DOCKER" pull -q "$GOLANG" >/dev/null 2>&1; then mode=registry; else mode=standin; fi
fi
log "base images: $mode"

standin_golang() {
	local root=$work/golang
	mkdir -p "$root"/{bin,tmp,go,root,etc/ssl/certs,usr/local}
	chmod 1777 "$root/tmp"
	cp "$(command -v busybox)" "$root/bin/busybox" || die "standin needs a static busybox (apt-get install busybox-static)"
	ldd "$root/bin/busybox" >/dev/null 2>&1 && die "standin needs a *static* busybox (busybox-static)"
	ln -s busybox "$root/bin/sh"
	cp -a "$(go env GOROOT)" "$root/usr/local/go"
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	tar -C "$root" -c . | "$DOCKER" import \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/bin' \
		--change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' --change 'ENV HOME=/root' \
		- "$GOLANG" >/dev/null
	log "stand-in $GOLANG: $(go env GOVERSION) + busybox sh"
}

# The distroless stand-in is built per platform (scratch + files, no RUN), so its
# image config carries the platform BuildKit asks for.
standin_distroless() { # platform
	local root=$work/distroless
	if [[ ! -d $root ]]; then
		mkdir -p "$root"/{tmp,root,home/nonroot,etc/ssl/certs,usr/share}
		chmod 1777 "$root/tmp"
		chmod 0700 "$root/root" "$root/home/nonroot"
		printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
		printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$root/etc/group"
		cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
		cp -a /usr/share/zoneinfo "$root/usr/share/" 2>/dev/null || true
		printf 'FROM scratch\nCOPY . /\nCOPY --chown=65532:65532 home/nonroot /home/nonroot\n' >"$work/distroless.Dockerfile"
	fi
	"$DOCKER" "${BUILD[@]}" -q --platform "$1" -f "$work/distroless.Dockerfile" \
		-t "$DISTROLESS:nonroot" -t "$DISTROLESS:latest" "$root" >/dev/null
}

[[ $mode == standin ]] && standin_golang

# --- the images ---------------------------------------------------------------------
build() { # platform dockerfile tag build-args...
	local platform=$1 file=$2 tag=$3
	shift 3
	[[ $mode == standin ]] && standin_distroless "$platform"
	local start=$SECONDS
	"$DOCKER" "${BUILD[@]}" --network host --progress plain --platform "$platform" -f "$file" \
		"$@" -t "$tag" . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "building $tag failed"; }
	log "built $tag ($platform, $file) in $((SECONDS - start)) s, $("$DOCKER" image inspect -f '{{.Size}}' "$tag") bytes"
}

images=() addons=()
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
	arch=${platform#linux/} && arch=${arch/\//}
	build "$platform" Dockerfile "teslemetry2mqtt:test-$arch" --build-arg VERSION="$VERSION" --build-arg COMMIT="$COMMIT"
	images+=("$arch=teslemetry2mqtt:test-$arch")
done
for platform in linux/amd64 linux/arm64; do
	arch=${platform#linux/}
	build "$platform" addon/Dockerfile "teslemetry2mqtt-addon:test-$arch" --build-arg BUILD_VERSION="$VERSION" --build-arg BUILD_COMMIT="$COMMIT"
	addons+=("$arch=teslemetry2mqtt-addon:test-$arch")
done

# Foreign platforms run when the kernel hands their binaries to qemu (binfmt_misc).
emulated=
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 && -e /proc/sys/fs/binfmt_misc/qemu-arm ]] && emulated=1

log "testing the images"
T2M_DOCKER=$DOCKER T2M_IMAGES=$(IFS=,; echo "${images[*]}") T2M_ADDON_IMAGES=$(IFS=,; echo "${addons[*]}") \
	T2M_IMAGE_VERSION=$VERSION T2M_EMULATED=$emulated \
	go test -race -count=1 -timeout 10m -run '^TestDocker' -v ./e2e/ || die "image tests failed"
