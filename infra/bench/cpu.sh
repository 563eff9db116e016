#!/usr/bin/env bash
# infra/bench/cpu.sh — CPU per bid: the whole platform in one process on
# its embedded broker, at a fixed load it carries, measured as the process's
# CPU time (every thread: Go, librdkafka, the broker) over a window in the
# middle of the load, divided by the bids sent in that window. CPU time, not
# throughput, so the figure holds on a shared, noisy machine.
#
#   infra/bench/cpu.sh [bid|batch] [runs]
#
#   bid    single bids, BENCH_RATE a second (250)
#   batch  batches of 1,000 bids, BENCH_RATE requests a second (2)
#   runs   how many times to start the platform and measure (3); the
#          median is printed last
#
# Environment (all optional): BENCH_DIR, BENCH_HTTP_PORT, BENCH_KAFKA_PORT
# as in run.sh; BENCH_RATE; BENCH_WINDOW, the measured seconds (15);
# BENCH_PROFILE=1 also takes a CPU profile of the window from the admin
# port (BENCH_ADMIN_PORT, 18481) into BENCH_DIR/cpu-<scenario>-<run>.pprof.
# Any other AUCTION_* variable set here reaches the platform, so a setting
# can be measured both ways.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
source "$root/infra/bench/lib.sh"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/auction-bench}
window=${BENCH_WINDOW:-15}
lead=6 # seconds of load before the window: the platform's warm-up

scenario=${1:-bid}
runs=${2:-3}
case $scenario in
bid) rate=${BENCH_RATE:-250}; per=1; flags=() ;;
batch) rate=${BENCH_RATE:-2}; per=1000; flags=(-batch 1000) ;;
-h | -help | --help)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print } /^set -euo/ { exit }' "${BASH_SOURCE[0]}"
	exit 0
	;;
*) echo "cpu.sh: unknown scenario $scenario (bid or batch)" >&2; exit 2 ;;
esac

mkdir -p "$dir"
build "$dir"
ticks=$(getconf CLK_TCK)

platform_pid= load_pid=
cleanup() {
	stop_all "$load_pid" "$platform_pid"
	platform_pid= load_pid=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu PID: the process's user plus system time, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

results=()
for run in $(seq "$runs"); do
	log=$dir/cpu-$scenario-$run.platform.log
	env AUCTION_HTTP_ADDR=127.0.0.1:$http_port AUCTION_ADMIN_ADDR=127.0.0.1:$admin_port \
		AUCTION_EMBEDDED_KAFKA_PORT=$kafka_port AUCTION_RATE_LIMIT=0 AUCTION_CLOSE_GRACE=1s \
		AUCTION_DEMO_USERS=false AUCTION_LOG_LEVEL=warn "$bin" run >"$log" 2>&1 &
	platform_pid=$!
	await_ready "http://127.0.0.1:$http_port/readyz" "$platform_pid" "$log" "the platform"

	"$bench_bin" loadgen -scenario "$scenario" "${flags[@]}" -rate "$rate" \
		-duration $((lead + window + 3))s -url "http://127.0.0.1:$http_port" -quiet \
		-e2e -brokers "127.0.0.1:$kafka_port" \
		>"$dir/cpu-$scenario-$run.load.txt" 2>&1 &
	load_pid=$!
	sleep "$lead"
	before=$(cpu "$platform_pid")
	if [[ ${BENCH_PROFILE:-} == 1 ]]; then
		curl -sf -o "$dir/cpu-$scenario-$run.pprof" \
			"http://127.0.0.1:$admin_port/debug/pprof/profile?seconds=$window"
	else
		sleep "$window"
	fi
	after=$(cpu "$platform_pid")
	wait "$load_pid" || { echo "cpu.sh: the load generator failed; see $dir/cpu-$scenario-$run.load.txt" >&2; exit 1; }
	load_pid=
	grep -E 'verdict: ' "$dir/cpu-$scenario-$run.load.txt" | sed 's/^ */cpu.sh: /' >&2 || true
	us=$(awk -v d=$((after - before)) -v t="$ticks" -v r="$rate" -v p="$per" -v w="$window" \
		'BEGIN { printf "%.0f", d / t * 1e6 / (r * p * w) }')
	echo "cpu.sh: $scenario run $run: $us µs of process CPU a bid at $rate/s$([[ $per -gt 1 ]] && echo " × $per")" >&2
	results+=("$us")
	cleanup
done
median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "$scenario: median $median µs a bid (runs: ${results[*]})"
