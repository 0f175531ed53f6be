# Deploy and packaging targets (included by the Makefile).
#
#   make package         reproducible zips for both clouds in build/package/{aws,tencent}/<fn>.zip
#   make deploy-aws      sam build + sam deploy --guided (template.yaml)
#   make deploy-tencent  build the SCF binaries + scf deploy (infra/tencent/*/serverless.yml)

PACKAGE_DIR := $(BUILD)/package
MKZIP       := $(BUILD)/bin/mkzip
SCF_ARCH    ?= amd64

# SAM logical id → function directory. SAM's makefile build method runs
# `make build-<LogicalId>` with ARTIFACTS_DIR in the environment; the
# build-<fn> rule in the Makefile writes bootstrap there.
SAM_FUNCTIONS := CallbackFunction=callback PosterFunction=poster RollupFunction=rollup ApiFunction=api

define sam_alias
build-$(firstword $(subst =, ,$(1))): build-$(lastword $(subst =, ,$(1)))
.PHONY: build-$(firstword $(subst =, ,$(1)))
endef
$(foreach p,$(SAM_FUNCTIONS),$(eval $(call sam_alias,$(p))))

## build-scf-<fn>: the Tencent SCF Go1 binary (handler "main")
define scf_build
build-scf-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=$(SCF_ARCH) $(GO) build -tags scf,timetzdata $(GOFLAGS_REL) \
	  -o $(BUILD)/scf/$(1)/main ./functions/$(1)
.PHONY: build-scf-$(1)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call scf_build,$(f))))

$(MKZIP): $(wildcard infra/cmd/mkzip/*.go infra/cmd/mkzip/detzip/*.go)
	$(GO) build -trimpath -o $@ ./infra/cmd/mkzip

## package: every function's deployable zip for both clouds, byte-for-byte reproducible
package: $(MKZIP) $(addprefix build-,$(FUNCTIONS)) $(addprefix build-scf-,$(FUNCTIONS))
	@set -e; for f in $(FUNCTIONS); do \
	  $(MKZIP) -o $(PACKAGE_DIR)/aws/$$f.zip bootstrap=$(BUILD)/lambda/$$f/bootstrap; \
	  $(MKZIP) -o $(PACKAGE_DIR)/tencent/$$f.zip main=$(BUILD)/scf/$$f/main; \
	done

## deploy-aws: build with SAM (makefile build method) and deploy, asking for parameters the first time
deploy-aws:
	@command -v sam >/dev/null 2>&1 || { \
	  echo "deploy-aws: the AWS SAM CLI ('sam') is not installed."; \
	  echo "  Install it (see README → Deploy → AWS), configure credentials, then run 'make deploy-aws' again."; \
	  exit 1; }
	sam build --template-file template.yaml
	sam deploy --guided

## deploy-tencent: build the SCF binaries and deploy every function with the Serverless Cloud Framework
deploy-tencent: $(addprefix build-scf-,$(FUNCTIONS))
	@command -v scf >/dev/null 2>&1 || { \
	  echo "deploy-tencent: the Serverless Cloud Framework CLI ('scf') is not installed."; \
	  echo "  Install it (see README → Deploy → Tencent Cloud), fill infra/tencent/.env, then run 'make deploy-tencent' again."; \
	  exit 1; }
	@test -f infra/tencent/.env || { echo "deploy-tencent: infra/tencent/.env is missing; copy infra/tencent/.env.example and fill it in."; exit 1; }
	cd infra/tencent && scf deploy

.PHONY: deploy-aws deploy-tencent
