#!/usr/bin/env bash
# infra/bench/run.sh — the benchmark in one go: starts the platform, runs
# `auction-bench loadgen -scenario suite` against it (the minimal reference
# handler, single bids, batched bids, verdict latency, pipeline efficiency,
# close latency and the raw broker baseline, all in the same run) and prints
# every target as a ratio with the absolute figures beside it. It builds both
# binaries: the platform (cmd/auction) and the load generator
# (cmd/auction-bench).
#
#   infra/bench/run.sh [embedded|real|split|both|all] [auction-bench loadgen flags...]
#
#   embedded  (default) `auction run` on its embedded broker
#   real      `auction run` on a real Apache Kafka 4.x broker: KAFKA_BROKERS
#             if set, else one started here with infra/kafka/kafka.sh (needs
#             java 17+ and, the first time, mvn) and stopped afterwards
#   split     the same broker as real, with the gateway alone in one process
#             and the processor, closer, notify, analytics and lineage in
#             another (in-memory stores: notify finds no user's address and
#             keeps to the inbox, which the suite does not read)
#   both      embedded, then real
#   all       embedded, real, then split
#
# Extra flags go to `auction-bench loadgen`, e.g. `-step 10s` for longer
# search steps (the default of 5 s makes a run of a few minutes) or
# `-batch-slo 500ms`. `infra/bench/run.sh -h` builds both binaries and prints
# this and the load generator's flags, without starting anything.
#
# Environment (all optional):
#   BENCH_DIR          binaries, platform logs, JSON results (${TMPDIR:-/tmp}/auction-bench)
#   BENCH_HTTP_PORT    the gateway's port                  (18480)
#   BENCH_KAFKA_PORT   the embedded broker's port          (18492)
#   BENCH_ADMIN_PORT   the admin port of split's second process (18481)
#   KAFKA_BROKERS      a real cluster for `real`
#   KAFKA_PORT         port of the broker started here     (19392; not make test-integration's)
#   AUCTION_PARTITIONS partitions of the platform's topics (6)
#
# The platform runs with AUCTION_RATE_LIMIT=0 (the loadgen is one client with
# a handful of users), AUCTION_CLOSE_GRACE=1s (short auctions) and demo users
# off. Results: BENCH_DIR/<mode>.json and BENCH_DIR/<mode>.txt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
source "$root/infra/bench/lib.sh"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/auction-bench}
partitions=${AUCTION_PARTITIONS:-6}
grace=1s


mode=embedded
case "${1:-}" in
embedded | real | split | both | all) mode=$1; shift ;;
-h | -help | --help) mode=help ;;
esac

mkdir -p "$dir"
build "$dir"
if [[ $mode == help ]]; then
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print } /^set -euo/ { exit }' "${BASH_SOURCE[0]}"
	echo
	"$bench_bin" loadgen -h 2>&1
	exit 0
fi

platform_pid=
rest_pid=
broker_started=

stop_platform() {
	stop_all "$platform_pid" "$rest_pid"
	platform_pid= rest_pid=
}

cleanup() {
	stop_platform
	stop_broker
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_platform LOGNAME [VAR=value...]: starts `auction run` and waits
# (bounded) until /readyz answers 200.
start_platform() {
	local log=$dir/$1.platform.log
	shift
	env AUCTION_HTTP_ADDR=127.0.0.1:$http_port AUCTION_RATE_LIMIT=0 AUCTION_CLOSE_GRACE=$grace \
		AUCTION_DEMO_USERS=false AUCTION_LOG_LEVEL=warn AUCTION_PARTITIONS=$partitions "$@" \
		"$bin" run >"$log" 2>&1 &
	platform_pid=$!
	await_ready "http://127.0.0.1:$http_port/readyz" "$platform_pid" "$log" "the platform"
}

# start_rest LOGNAME [VAR=value...]: split's second process, every
# component but the gateway, waited for (bounded) on its admin /readyz.
start_rest() {
	local log=$dir/$1.rest.log
	shift
	env AUCTION_TARGET=processor,closer,notify,analytics,lineage AUCTION_ADMIN_ADDR=127.0.0.1:$admin_port \
		AUCTION_CLOSE_GRACE=$grace AUCTION_LOG_LEVEL=warn AUCTION_PARTITIONS=$partitions "$@" \
		"$bin" run >"$log" 2>&1 &
	rest_pid=$!
	await_ready "http://127.0.0.1:$admin_port/readyz" "$rest_pid" "$log" "the second process"
}

# suite MODE BROKERS [flags...]
suite() {
	local name=$1 brokers=$2
	shift 2
	echo "bench: $name — suite against http://127.0.0.1:$http_port, brokers $brokers" >&2
	"$bench_bin" loadgen -scenario suite -url "http://127.0.0.1:$http_port" -brokers "$brokers" \
		-grace "$grace" -partitions "$partitions" -json "$dir/$name.json" "$@" | tee "$dir/$name.txt"
}

if [[ $mode == embedded || $mode == both || $mode == all ]]; then
	start_platform embedded AUCTION_EMBEDDED_KAFKA_PORT=$kafka_port
	suite embedded "127.0.0.1:$kafka_port" "$@"
	stop_platform
fi

if [[ $mode == real || $mode == split || $mode == both || $mode == all ]]; then
	start_broker
	key=AUCTION_JWT_KEY=bench-only-key-0123456789abcdef0123456789
	if [[ $mode != split ]]; then
		start_platform real AUCTION_KAFKA_BROKERS="$brokers" $key
		suite real "$brokers" "$@"
		stop_platform
	fi
	if [[ $mode == split || $mode == all ]]; then
		start_rest split AUCTION_KAFKA_BROKERS="$brokers"
		start_platform split AUCTION_KAFKA_BROKERS="$brokers" AUCTION_TARGET=gateway $key
		suite split "$brokers" "$@"
		stop_platform
	fi
fi
echo "bench: results in $dir" >&2
