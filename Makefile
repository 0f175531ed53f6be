# Siyu — build, test, run, package, bench.
# Everything the tests need is installed here into .tools/ (git-ignored).

SHELL       := /bin/bash
GO          ?= go
TOOLS       := $(CURDIR)/.tools
BUILD       := $(CURDIR)/build
FUNCTIONS   := callback poster rollup api
LAMBDA_ARCH ?= arm64
GOFLAGS_REL := -trimpath -ldflags="-s -w -buildid="
RIE_VERSION ?= latest
STATICCHECK_VERSION ?= v0.8.2

export SIYU_DYNALITE := $(TOOLS)/node_modules/.bin/dynalite
export SIYU_RIE      := $(TOOLS)/bin/aws-lambda-rie
STATICCHECK := $(TOOLS)/bin/staticcheck

.PHONY: all build test test-dates test-short run bench fuzz tools tools-dynalite tools-rie tools-staticcheck tools-benchstat tools-debian tools-mariadb tools-chromium \
        package lint clean $(addprefix build-,$(FUNCTIONS))

all: build

## tools: install test dependencies: dynalite (npm) and aws-lambda-rie (go install) into .tools; MariaDB,
## Chromium and CJK fonts from Debian when running as root (otherwise their tests say how to install them)
tools: tools-dynalite tools-rie tools-staticcheck tools-debian

tools-debian:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory tools-mariadb tools-chromium; \
	 else echo "not root: skipping Debian packages (mariadb-server, chromium, fonts-noto-cjk); their tests skip outside CI"; fi

tools-dynalite: $(SIYU_DYNALITE)
$(SIYU_DYNALITE):
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error dynalite@3
	test -x $@

tools-rie: $(SIYU_RIE)
$(SIYU_RIE):
	mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

tools-benchstat: $(TOOLS)/bin/benchstat
$(TOOLS)/bin/benchstat:
	mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install golang.org/x/perf/cmd/benchstat@latest

tools-staticcheck: $(STATICCHECK)
$(STATICCHECK):
	mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# MariaDB and Chromium come from Debian packages; installing needs root.
tools-mariadb:
	@{ command -v mariadbd >/dev/null 2>&1 || test -x /usr/sbin/mariadbd; } && command -v ip >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server iproute2 >/dev/null; }

tools-chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

## build: every function for the host (local checks)
build:
	$(GO) build ./...

## build-<Function>: SAM's makefile build method calls these with ARTIFACTS_DIR set
define lambda_build
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_ARCH) $(GO) build -tags lambda.norpc,timetzdata $(GOFLAGS_REL) \
	  -o $$(or $$(ARTIFACTS_DIR),$(BUILD)/lambda/$(1))/bootstrap ./functions/$(1)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call lambda_build,$(f))))

## test: the whole suite, with real dynalite, aws-lambda-rie, MariaDB and the SCF runtime, then the
## date-shift proof and a short fuzz run
test: tools lint
	$(GO) test -count=1 -timeout 12m ./...
	$(MAKE) --no-print-directory test-dates
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST)

# Every fuzz target, as package:Target. make test runs each briefly; make fuzz as long as FUZZTIME says.
FUZZ_TARGETS := shared/wecom:FuzzOpen shared/wecom:FuzzDecrypt shared/wecom:FuzzParseEvent shared/wecom:FuzzScanErrCode shared/wecom:FuzzDecodePairsPage \
	shared/churn:FuzzDecodeFact shared/churn:FuzzDecodeChunk shared/callback:FuzzCallbackEvent shared/api:FuzzCreatePost shared/api:FuzzStatsQuery \
	shared/api:FuzzCreateChannel
FUZZTIME      ?= 2m
FUZZTIME_TEST ?= 4s

## fuzz: every fuzz target for FUZZTIME each (default 2m; make test runs them for 4s)
# A finding always writes its input under testdata/fuzz/<Target>/ and fails.
# A run that fails without writing one and says only "context deadline
# exceeded" is the fuzzing engine's own hiccup (a worker stopped at the
# deadline, seen in CI under load, twice in a row once): its output is shown
# and it runs again, up to three times; after three such runs it is reported
# and not counted as a failure, since a finding always writes its input.
# Any other failure fails.
fuzz:
	@set -o pipefail; for t in $(FUZZ_TARGETS); do \
	  pkg=./$${t%%:*}; name=$${t#*:}; dir=$$pkg/testdata/fuzz/$$name; \
	  echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  for try in 1 2 3; do \
	    before=$$(ls $$dir 2>/dev/null | wc -l); \
	    if out=$$($(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1); then \
	      echo "$$out" | grep -E '^(ok|fuzz: elapsed: .*, execs)' | tail -2; break; \
	    fi; \
	    echo "$$out" | tail -30; \
	    if [ "$$(ls $$dir 2>/dev/null | wc -l)" != "$$before" ] || ! echo "$$out" | grep -q 'context deadline exceeded'; then echo "fuzz $$name failed"; exit 1; fi; \
	    if [ $$try = 3 ]; then echo "fuzz $$name: the engine stopped at the deadline three times without a finding (not a failure)"; break; fi; \
	    echo "fuzz $$name: the engine failed without a finding; once more"; \
	  done; \
	done

## lint: go vet and staticcheck for every build of the functions (host, Lambda, SCF)
lint: tools-staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags scf ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags scf ./...

# The packages whose tests use fixed dates (they import shared/testclock).
DATED_PKGS = $$($(GO) list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
	| grep ' github.com/siyuhq/siyu/shared/testclock' | cut -d' ' -f1)

## test-dates: the tests with fixed dates pass when those dates lie more than a year before today and more
## than a year after it, so the suite cannot depend on the day it runs
test-dates:
	SIYU_TEST_DATES=past $(GO) test -count=1 -timeout 5m $(DATED_PKGS)
	SIYU_TEST_DATES=future $(GO) test -count=1 -timeout 5m $(DATED_PKGS)

test-short:
	$(GO) test -short ./...

## run: the local stack (demo against the WeCom simulator when no credentials are set)
run:
	$(GO) run ./infra/local

## bench: the benchmarks BENCHMARKS.md reports
bench: tools-benchstat
	mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./shared/... | tee $(BUILD)/bench.txt

# Deploy and packaging targets live beside the descriptors they drive.
include $(wildcard infra/mk/*.mk)

clean:
	rm -rf $(BUILD)
