# cairn — the two commands a new machine needs are `make run` and `make test`.

GO      ?= go
BIN     := bin/cairn
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test test-deps unit integration vet fmt-check fuzz bench screenshots clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cairn

# Runs cairn on its embedded defaults with demo traffic; data in ./cairn-data.
run: build
	./$(BIN) serve --demo

# Installs what the tests need, then runs every test. CI runs exactly this (.ci/run).
test: test-deps vet fmt-check unit integration

test-deps:
	./scripts/test-deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -timeout 15m $$($(GO) list ./... | grep -v /test/)

# -count=1: these tests run the cairn binary they build, which go test's cache cannot see.
integration:
	$(GO) test -count=1 -timeout 15m ./test/...

# Short fuzzing of every parser (go test -fuzz runs one target at a time).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run XXX -fuzz FuzzParse$$ -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run XXX -fuzz FuzzParseHeader -fuzztime $(FUZZTIME) ./internal/iam/sigv4/
	$(GO) test -run XXX -fuzz FuzzParse$$ -fuzztime $(FUZZTIME) ./internal/iam/sigv4/
	$(GO) test -run XXX -fuzz FuzzVerify -fuzztime $(FUZZTIME) ./internal/iam/sigv4/
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/logfile/
	$(GO) test -run XXX -fuzz FuzzParseKey -fuzztime $(FUZZTIME) ./internal/logfile/
	$(GO) test -run XXX -fuzz FuzzCompile$$ -fuzztime $(FUZZTIME) ./internal/pattern/
	$(GO) test -run XXX -fuzz FuzzMatch$$ -fuzztime $(FUZZTIME) ./internal/pattern/
	$(GO) test -run XXX -fuzz FuzzMatchDerived -fuzztime $(FUZZTIME) ./internal/pattern/
	$(GO) test -run XXX -fuzz FuzzParseGroupARN -fuzztime $(FUZZTIME) ./internal/logs/
	$(GO) test -run XXX -fuzz FuzzParsePosition -fuzztime $(FUZZTIME) ./internal/logs/
	$(GO) test -run XXX -fuzz FuzzParseDigest -fuzztime $(FUZZTIME) ./internal/integrity/
	$(GO) test -run XXX -fuzz FuzzDecodeQuery -fuzztime $(FUZZTIME) ./internal/api/awsproto/
	$(GO) test -run XXX -fuzz FuzzDecodeCBOR -fuzztime $(FUZZTIME) ./internal/api/awsproto/
	$(GO) test -run XXX -fuzz FuzzUnmarshalSketch -fuzztime $(FUZZTIME) ./internal/metrics/
	$(GO) test -run XXX -fuzz FuzzParsePublicKeyFile -fuzztime $(FUZZTIME) ./internal/integrity/
	$(GO) test -run XXX -fuzz FuzzOpenEnvelope -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run XXX -fuzz FuzzScanMatchesEncodingJSON -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run XXX -fuzz FuzzFieldsExtract -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run XXX -fuzz FuzzParseFilter -fuzztime $(FUZZTIME) ./internal/importer/
	$(GO) test -run XXX -fuzz FuzzParseMessage -fuzztime $(FUZZTIME) ./internal/notify/
	$(GO) test -run XXX -fuzz FuzzDeliveryPolicy -fuzztime $(FUZZTIME) ./internal/notify/
	$(GO) test -run XXX -fuzz FuzzParseTopicARN -fuzztime $(FUZZTIME) ./internal/notify/
	$(GO) test -run XXX -fuzz FuzzParsePHC -fuzztime $(FUZZTIME) ./internal/iam/
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/iam/totp/
	$(GO) test -run XXX -fuzz FuzzParseFilter -fuzztime $(FUZZTIME) ./internal/console/
	$(GO) test -run XXX -fuzz FuzzRewrite -fuzztime $(FUZZTIME) ./internal/lake/lakesql/
	$(GO) test -run XXX -fuzz FuzzQueryGate -fuzztime $(FUZZTIME) ./internal/lake/
	$(GO) test -run XXX -fuzz FuzzConfigurationItems -fuzztime $(FUZZTIME) ./internal/lake/
	$(GO) test -run XXX -fuzz FuzzAuditEvent -fuzztime $(FUZZTIME) ./internal/lake/

# Regenerates docs/screenshots: every console page at 1280x800 in headless Chromium against a
# demo server.
screenshots:
	CAIRN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestScreenshots ./test/integration/

clean:
	rm -rf bin
