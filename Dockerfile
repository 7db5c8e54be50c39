#
# teslemetry2mqtt — plain Docker image (for Home Assistant use the add-on in addon/).
#
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 \
#     --build-arg VERSION=0.1.0 --build-arg COMMIT="$(git rev-parse --short=12 HEAD)" \
#     -t ghcr.io/teslemetry2mqtt/teslemetry2mqtt:0.1.0 --push .
#
# The Go toolchain runs natively on the build machine and cross-compiles a static
# binary (CGO_ENABLED=0), so no emulation is needed for any target platform.
# Needs BuildKit (the default since Docker 23). No "# syntax=" line on purpose: the
# built-in Dockerfile frontend has everything used here, and a builder without
# registry access (see scripts/docker-test.sh) then needs no frontend image.
# `make docker-test` builds and tests this image for all three platforms.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    if [ "$TARGETARCH" = "arm" ]; then export GOARM="${TARGETVARIANT#v}"; fi; \
    CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/teslemetry2mqtt ./cmd/teslemetry2mqtt

# Distroless static: CA certificates and tzdata, no shell, no package manager;
# the :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="teslemetry2mqtt" \
      org.opencontainers.image.description="Bridge from Teslemetry's Tesla telemetry stream to MQTT, with Home Assistant discovery" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/teslemetry2mqtt/teslemetry2mqtt" \
      org.opencontainers.image.url="https://github.com/teslemetry2mqtt/teslemetry2mqtt" \
      org.opencontainers.image.documentation="https://github.com/teslemetry2mqtt/teslemetry2mqtt#readme"
COPY --from=build /out/teslemetry2mqtt /teslemetry2mqtt
# Mount the config directory here (read-only is fine): -v ./config:/config:ro
# The file is optional: without it, settings come from the environment
# (TESLEMETRY_TOKEN, MQTT_URL, …) and the defaults.
ENV TESLEMETRY2MQTT_CONFIG=/config/config.yaml
# /healthz (for the HEALTHCHECK below) and /metrics.
ENV HTTP_LISTEN=:8099
EXPOSE 8099
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/teslemetry2mqtt", "healthcheck"]
USER nonroot:nonroot
ENTRYPOINT ["/teslemetry2mqtt"]
CMD ["run"]
