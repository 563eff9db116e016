#!/usr/bin/env bash
# infra/bench/scale.sh — the scale run: a million bids over ten thousand
# auctions, on Apache Kafka 4.x, with the platform as three processes
# (gateway | processor | closer, notify, analytics, lineage). It samples
# each process's resident memory every 5 s from start to well after the
# last auction closed, then kills the processor with SIGKILL and times its
# restart to ready twice: on its local state (AUCTION_STATE_DIR, as a
# deployment keeps it) and from nothing (every table recovered from its
# topic).
#
#   infra/bench/scale.sh [auction-bench loadgen flags...]
#
# Environment (all optional):
#   SCALE_ITEMS     auctions                      (10000)
#   SCALE_BATCHES   batches of 1,000 bids         (1000)
#   SCALE_RATE      batches a second              (3)
#   SCALE_OPEN      how long each auction is open (10m; must outlast the bids)
#   BENCH_DIR       binaries, logs, memory.csv, results (${TMPDIR:-/tmp}/auction-scale)
#   KAFKA_BROKERS   a cluster to use instead of the broker started here
#   KAFKA_PORT      port of the broker started here (19392)
#
# Results: BENCH_DIR/memory.csv (seconds, phase, RSS in MiB of gateway,
# processor, rest and broker), BENCH_DIR/loadgen.txt, BENCH_DIR/summary.txt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
source "$root/infra/bench/lib.sh"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/auction-scale}
items=${SCALE_ITEMS:-10000}
batches=${SCALE_BATCHES:-1000}
rate=${SCALE_RATE:-3}
open=${SCALE_OPEN:-10m}
http_port=18480 processor_admin=18482 rest_admin=18483
partitions=6 grace=1s
key=AUCTION_JWT_KEY=bench-only-key-0123456789abcdef0123456789

mkdir -p "$dir"
rm -rf "$dir/processor-state" "$dir"/*.log "$dir/memory.csv" "$dir/phase"
build "$dir"

gateway_pid= processor_pid= rest_pid= sampler_pid= broker_started=
cleanup() {
	stop_all "$sampler_pid" "$gateway_pid" "$processor_pid" "$rest_pid"
	stop_broker
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_broker

# start NAME TARGET READY_URL [VAR=value...]: one platform process, waited
# for (bounded) until READY_URL answers 200; prints its pid.
start() {
	local name=$1 target=$2 ready=$3
	shift 3
	env AUCTION_KAFKA_BROKERS="$brokers" AUCTION_TARGET="$target" AUCTION_RATE_LIMIT=0 AUCTION_CLOSE_GRACE=$grace \
		AUCTION_DEMO_USERS=false AUCTION_LOG_LEVEL=warn AUCTION_PARTITIONS=$partitions "$@" \
		"$bin" run >>"$dir/$name.log" 2>&1 &
	local pid=$!
	await_ready "$ready" "$pid" "$dir/$name.log" "$name" >&2
	echo "$pid"
}

start_processor() {
	start processor processor "http://127.0.0.1:$processor_admin/readyz" AUCTION_ADMIN_ADDR=127.0.0.1:$processor_admin \
		AUCTION_STATE_DIR="$dir/processor-state" AUCTION_INSTANCE_ID=scale-processor-1
}

rss() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo -; }
broker_pid() { pgrep -f "kafka.Kafka.*auction-kafka-${KAFKA_PORT:-19392}" | head -1 || true; }
phase() { echo "$1" >"$dir/phase"; echo "scale: $(date -u +%T) $1" >&2; }

processor_pid=$(start_processor)
rest_pid=$(start rest closer,notify,analytics,lineage "http://127.0.0.1:$rest_admin/readyz" AUCTION_ADMIN_ADDR=127.0.0.1:$rest_admin)
gateway_pid=$(start gateway gateway "http://127.0.0.1:$http_port/readyz" AUCTION_HTTP_ADDR=127.0.0.1:$http_port $key)

phase started
(
	echo "seconds,phase,gateway_mib,processor_mib,rest_mib,broker_mib"
	t0=$(date +%s)
	while :; do
		b=$(broker_pid)
		echo "$(($(date +%s) - t0)),$(cat "$dir/phase"),$(rss "$gateway_pid"),$(rss "$(cat "$dir/processor.pid" 2>/dev/null || echo "$processor_pid")"),$(rss "$rest_pid"),$([[ -n $b ]] && rss "$b" || echo -)"
		sleep 5
	done
) >"$dir/memory.csv" &
sampler_pid=$!
echo "$processor_pid" >"$dir/processor.pid"

phase bidding
"$bench_bin" loadgen -scenario batch -url "http://127.0.0.1:$http_port" -brokers "$brokers" -e2e \
	-items "$items" -item-duration "$open" -batch 1000 -rate "$rate" -count "$batches" -duration 0 -quiet "$@" | tee "$dir/loadgen.txt"

# Every auction closes at endsAt + grace: wait (bounded) until the
# processor has closed all of them.
phase closing
closed() {
	curl -sf "http://127.0.0.1:$processor_admin/metrics" | awk '/^auction_auctions_closed_total/{s+=$2} END{printf "%d", s}'
}
deadline=$(($(date +%s) + 15 * 60))
while (($(closed) < items)); do
	if (($(date +%s) > deadline)); then
		echo "scale: only $(closed) of $items auctions closed within 15 minutes" >&2
		exit 1
	fi
	sleep 5
done
phase closed
# A minute after the last close: the memory the read models keep.
sleep 60

restart() {
	local what=$1
	kill -KILL "$processor_pid"
	# Not a child of this shell (start runs in a subshell): poll, bounded.
	for _ in $(seq 200); do kill -0 "$processor_pid" 2>/dev/null || break; sleep 0.05; done
	[[ $what == cold ]] && rm -rf "$dir/processor-state"
	local t0
	t0=$(date +%s.%N)
	processor_pid=$(start_processor)
	echo "$processor_pid" >"$dir/processor.pid"
	echo "processor restart ($what): ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s" | tee -a "$dir/summary.txt"
}
phase restart-warm
: >"$dir/summary.txt"
restart warm
sleep 10
phase restart-cold
restart cold
sleep 10
phase done
echo "scale: results in $dir (memory.csv, loadgen.txt, summary.txt)" >&2
