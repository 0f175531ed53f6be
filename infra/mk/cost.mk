# The cost model: a simulated month per brand size, measured through the
# real app over the DynamoDB meter, priced at published list prices.
.PHONY: cost

## cost: measure a month at 10^3, 10^4 and 10^5 customers; print the table and write build/cost.md
cost:
	mkdir -p $(BUILD)
	$(GO) run ./infra/cost -out $(BUILD)/cost.md
