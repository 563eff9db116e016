# infra/bench/lib.sh — what run.sh, scale.sh and cpu.sh share; sourced,
# not run. Each sets root (the repository) before sourcing it.

# The ports of a platform under measurement (BENCH_HTTP_PORT for the
# gateway, BENCH_KAFKA_PORT for the embedded broker, BENCH_ADMIN_PORT for
# an admin listener); a script may set its own after sourcing.
http_port=${BENCH_HTTP_PORT:-18480}
kafka_port=${BENCH_KAFKA_PORT:-18492}
admin_port=${BENCH_ADMIN_PORT:-18481}

# build DIR: builds the platform (cmd/auction) and the load generator
# (cmd/auction-bench) into DIR and sets bin and bench_bin to them.
build() {
	bin=$1/auction bench_bin=$1/auction-bench
	echo "bench: building $bin and $bench_bin" >&2
	(cd "$root" && go build -o "$bin" ./cmd/auction && go build -o "$bench_bin" ./cmd/auction-bench)
}

# await_ready URL PID LOG WHAT: waits (bounded, 60 s) until URL answers 200,
# and stops the script if the process PID exits first or never gets there.
await_ready() {
	local url=$1 pid=$2 log=$3 what=$4
	for _ in $(seq 1200); do
		if curl -sf "$url" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "bench: $what exited; see $log" >&2; tail -20 "$log" >&2; exit 1; }
		sleep 0.05
	done
	echo "bench: $what was not ready within 60s; see $log" >&2
	exit 1
}

# start_broker: sets brokers to KAFKA_BROKERS, or starts one Kafka node on
# KAFKA_PORT (19392) with infra/kafka/kafka.sh and sets broker_started to
# its port, for the caller's cleanup to stop it (stop_broker).
start_broker() {
	brokers=${KAFKA_BROKERS:-}
	if [[ -n $brokers ]]; then
		return 0
	fi
	local port=${KAFKA_PORT:-19392}
	export KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$((port + 1))
	bash "$root/infra/kafka/kafka.sh" fetch
	bash "$root/infra/kafka/kafka.sh" start
	broker_started=$port
	brokers=127.0.0.1:$port
}

stop_broker() {
	if [[ -n ${broker_started:-} ]]; then
		KAFKA_PORT=$broker_started KAFKA_CONTROLLER_PORT=$((broker_started + 1)) bash "$root/infra/kafka/kafka.sh" stop || true
		broker_started=
	fi
}

# stop_all PID...: sends each process TERM at once, then waits up to 30 s
# for each before it sends KILL. Empty arguments are skipped.
stop_all() {
	local pid
	for pid in "$@"; do
		[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		[[ -n $pid ]] || continue
		for _ in $(seq 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
