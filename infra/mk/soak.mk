# The soak: a brand's year lived through the whole stack under faults,
# every figure checked against the scenario's ground truth (infra/month).
.PHONY: soak

SOAK_CUSTOMERS ?= 100000
SOAK_DAYS      ?= 365
# SOAK_FIRST=YYYY-MM-DD replays the year that began that day (by default the
# year before yesterday, so a run on another day lives another calendar).
SOAK_FIRST     ?=

## soak: a year at 10^5 customers under faults (SOAK_CUSTOMERS, SOAK_DAYS, SOAK_FIRST), checked against the ground truth
soak:
	$(GO) run ./infra/month -customers $(SOAK_CUSTOMERS) -days $(SOAK_DAYS) $(if $(SOAK_FIRST),-first $(SOAK_FIRST)) -welcomes-sent
