# One-liners; the README explains each. CI runs `make ci`.
GO ?= go

.PHONY: run test test-integration test-faults test-faults-cluster test-api lint bench bench-load bench-scale ci up-local test-lambda lint-aws build-NotifyFunction build-AnalyticsFunction build-PlaceItemFunction build-PlaceBidFunction build-ItemDirFunction build-LineageFunction

run: ## the whole platform in one process, embedded broker, demo users
	$(GO) run ./cmd/auction run

test: ## every test, race detector on; dynalite comes from npm (infra/dynalite)
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(GO) test -race -count=1 ./...

# The real broker of test-integration: infra/kafka/kafka.sh runs Apache Kafka
# 4.x (KRaft, one node) from Maven Central's jars; it needs java and mvn.
KAFKA_PORT ?= 19092
KAFKA_CONTROLLER_PORT ?= 19093
KAFKA_SH = KAFKA_PORT=$(KAFKA_PORT) KAFKA_CONTROLLER_PORT=$(KAFKA_CONTROLLER_PORT) bash infra/kafka/kafka.sh

test-integration: ## every test again, Kafka-touching ones on a real Kafka 4.x broker (infra/kafka)
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(KAFKA_SH) fetch
	$(KAFKA_SH) start
	@# One broker for all packages, so packages run one at a time (-p 1). The
	@# broker is stopped however the tests end, and their exit status is kept.
	trap '$(KAFKA_SH) stop' EXIT; trap 'exit 130' INT TERM; \
	KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) $(GO) test -race -count=1 -p 1 ./...

# The fault suite owns its broker (infra/kafka/kafka.sh on free ports) so it
# can kill and resume it; AUCTION_FAULTS_SEED=N replays a run's faults.
# faults runs fault suite $(1). A failure prints the suite's own lines again
# at the end, below the processes' logs, so the reason is the last thing read.
faults = @log=$$(mktemp); \
	{ AUCTION_FAULTS=1 $(GO) test -count=1 -timeout 15m -run '^$(1)$$' -v ./cmd/auction; echo $$? >"$$log.rc"; } 2>&1 | tee "$$log"; \
	rc=$$(cat "$$log.rc"); \
	if [ "$$rc" != 0 ]; then \
		echo "== $(1) failed; its own lines again (the processes' logs are above):"; \
		grep -E '^ +(faults|history|topology)_test\.go:[0-9]+: [^-]|^ +\|' "$$log" | cut -c1-2000; \
	fi; \
	rm -f "$$log" "$$log.rc"; exit $$rc

test-faults: ## the topology as processes on a real broker, SIGKILLs and a broker restart, checked against a replay of the log
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(KAFKA_SH) fetch
	$(call faults,TestFaults)

test-faults-cluster: ## the fault suite on three KRaft nodes (replication 3, min.insync.replicas 2): the busiest leader SIGKILLed mid-run
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(KAFKA_SH) fetch
	$(call faults,TestFaultsCluster)

up-local: ## the compose topology as plain processes (Kafka from infra/kafka, dynalite, six components); Ctrl-C stops it
	bash infra/local/up.sh

# staticcheck is pinned: a newer release may add checks, and lint must not
# fail on a checkout that passed it.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

test-lambda: ## the functions under the AWS Lambda Runtime Interface Emulator (pinned in infra/lambda/rie), invoked with API Gateway and Kafka events (also part of make test)
	@test -d infra/dynalite/node_modules || npm ci --prefix infra/dynalite --no-audit --no-fund
	$(GO) test -count=1 -v -run '^TestUnderTheLambdaRuntime$$' ./cmd/lambda/...

# cfn-lint and the SAM translator are pinned, as staticcheck is, in a
# virtualenv of their own.
CFN_LINT ?= 1.58.0
SAM_TRANSLATOR ?= 1.115.0
CFN_LINT_VENV ?= $(or $(TMPDIR),/tmp)/auction-cfn-lint

lint-aws: ## cfn-lint and the SAM translator (PyPI, pinned) on the AWS SAM template infra/aws/template.yaml
	@$(CFN_LINT_VENV)/bin/pip freeze 2>/dev/null | grep -qx 'cfn-lint==$(CFN_LINT)' && \
		$(CFN_LINT_VENV)/bin/pip freeze | grep -qx 'aws-sam-translator==$(SAM_TRANSLATOR)' || \
		{ python3 -m venv $(CFN_LINT_VENV) && $(CFN_LINT_VENV)/bin/pip install -q --disable-pip-version-check \
			cfn-lint==$(CFN_LINT) aws-sam-translator==$(SAM_TRANSLATOR); }
	$(CFN_LINT_VENV)/bin/cfn-lint infra/aws/template.yaml
	$(CFN_LINT_VENV)/bin/python infra/aws/translate.py infra/aws/template.yaml

# The Lambda functions of infra/aws/template.yaml, as `sam build` asks for
# them (BuildMethod: makefile): cgo on, for confluent-kafka-go.
build-NotifyFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/notify

build-AnalyticsFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/analytics

build-PlaceItemFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/placeitem

build-PlaceBidFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/placebid

build-ItemDirFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/itemdir

build-LineageFunction:
	CGO_ENABLED=1 GOOS=linux $(GO) build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda/lineage

test-api: ## an outside client: Schemathesis (PyPI, pinned) runs every check against the served OpenAPI document (~4 min)
	bash infra/schemathesis/run.sh

lint: ## formatting, vet, staticcheck, and Kafka clients made only in internal/kafkaio
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt would change:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -count=1 -run '^TestClientsOnlyInKafkaio$$' ./internal/kafkaio/

bench: ## short benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchtime 200ms ./...

bench-load: ## the load generator's suite (auction-bench loadgen) against the platform (embedded broker; BENCHMARKS.md says more)
	bash infra/bench/run.sh

bench-scale: ## a million bids over 10,000 auctions on Kafka 4.4: memory over time and processor restarts (~15 min)
	bash infra/bench/scale.sh

ci: lint test
