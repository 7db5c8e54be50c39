# teslemetry2mqtt — build, test, demo and benchmarks.
BINARY   := teslemetry2mqtt
PKG      := ./cmd/teslemetry2mqtt
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOBUILD  := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
FUZZTIME ?= 10s

.PHONY: all build demo test unit e2e fuzz bench vet build-arm64 build-armv7 build-armv6 build-all docker-test systemd-test nodered-test browser-test clean

all: build

build:
	$(GOBUILD) -o $(BINARY) $(PKG)

## demo: the bridge on an embedded broker with the bundled recording (no account needed)
demo:
	go run $(PKG) demo

## test: everything CI runs — vet, unit + integration + end-to-end tests with -race, short fuzzing
test: vet
	go test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	go vet ./...

unit:
	go test -race -count=1 -short ./...

e2e:
	go test -race -count=1 -v ./e2e/...

fuzz:
	go test -run '^$$' -fuzz '^FuzzParseAndFormat$$' -fuzztime $(FUZZTIME) ./bridge/teslemetry
	go test -run '^$$' -fuzz '^FuzzParseSite$$' -fuzztime $(FUZZTIME) ./bridge/teslemetry
	go test -run '^$$' -fuzz '^FuzzSegment$$' -fuzztime $(FUZZTIME) ./discovery/topic
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./discovery/topic
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./bridge/webhook
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./bridge/command

bench: build
	go run ./bench --binary ./$(BINARY) $(BENCHFLAGS)

build-arm64:
	GOOS=linux GOARCH=arm64 $(GOBUILD) -o dist/$(BINARY)-linux-arm64 $(PKG)
	@ls -l dist/$(BINARY)-linux-arm64 | awk '{print $$5, $$9}'

build-armv7:
	GOOS=linux GOARCH=arm GOARM=7 $(GOBUILD) -o dist/$(BINARY)-linux-armv7 $(PKG)
	@ls -l dist/$(BINARY)-linux-armv7 | awk '{print $$5, $$9}'

build-armv6:
	GOOS=linux GOARCH=arm GOARM=6 $(GOBUILD) -o dist/$(BINARY)-linux-armv6 $(PKG)
	@ls -l dist/$(BINARY)-linux-armv6 | awk '{print $$5, $$9}'

build-all: build-arm64 build-armv7 build-armv6
	GOOS=linux GOARCH=amd64 $(GOBUILD) -o dist/$(BINARY)-linux-amd64 $(PKG)

## docker-test: build the Docker and add-on images for every platform and test them (needs a Docker engine)
docker-test:
	bash scripts/docker-test.sh

## systemd-test: install per deploy/teslemetry2mqtt.service's header into a Debian root and boot it with systemd-nspawn (root)
systemd-test:
	bash scripts/systemd-test.sh

## nodered-test: the Node-RED example flows in a real Node-RED (npm) against the bridge and mosquitto
nodered-test:
	bash scripts/nodered-test.sh

## browser-test: the status page in a real headless chromium (apt-get installs it) against the demo
browser-test:
	bash scripts/browser-test.sh

clean:
	rm -rf $(BINARY) dist
