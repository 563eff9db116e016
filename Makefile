# One-liners; the README explains each. CI runs `make ci`.
GO ?= go

.PHONY: run test test-integration lint bench ci

run: ## the whole platform in one process, embedded broker, demo users
	$(GO) run ./cmd/auction run

test: ## every test, race detector on; dynalite comes from npm (infra/dynalite)
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(GO) test -race -count=1 ./...

test-integration: ## the Kafka-touching suites against a real broker (KAFKA_BROKERS)
	@test -n "$$KAFKA_BROKERS" || { echo "set KAFKA_BROKERS to a running Kafka (see infra/kafka)"; exit 1; }
	$(GO) test -race -count=1 ./...

lint: ## formatting and vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt would change:"; echo "$$out"; exit 1; }
	$(GO) vet ./...

bench: ## short benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchtime 200ms ./...

ci: lint test
