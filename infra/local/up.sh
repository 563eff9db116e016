#!/usr/bin/env bash
# infra/local/up.sh — the docker-compose topology as plain processes, without
# Docker (make up-local): a real Apache Kafka broker (infra/kafka/kafka.sh),
# dynalite for DynamoDB (infra/dynalite), `auction init`, then one process per
# component of one binary: gateway, processor ×2, closer, notify, analytics, lineage.
# TestTopologyAcrossProcesses (cmd/auction/topology_test.go) runs the same
# topology and checks it end to end.
#
# It runs in the foreground. Ctrl-C (or SIGTERM) stops everything: the
# platform processes first (SIGTERM, each must exit 0 within 30 s), then
# dynalite and the broker. If a platform process dies on its own, the rest
# is stopped too and the script exits 1. Everything is in memory or under
# LOCAL_DIR, and a new run starts from scratch (the broker's data is wiped).
#
# Then: the API at http://$AUCTION_HTTP_ADDR (the demo users and their tokens
# are printed), /readyz of each process on its admin port, logs (JSON) in
# LOCAL_DIR/<process>.log. Emails are only logged (notify.log) unless
# AUCTION_SMTP_ADDR names an SMTP server (e.g. a local Mailpit on :1025).
#
# Environment (all optional):
#   LOCAL_DIR              binary, logs, processor state  (${TMPDIR:-/tmp}/auction-local)
#   KAFKA_BROKERS          use this cluster instead of starting a broker
#   KAFKA_PORT             port of the broker started here (19292; not make
#   KAFKA_CONTROLLER_PORT  test-integration's 19092)      (19293)
#   DYNALITE_PORT          port of the dynalite started here (18000), unless
#                          AUCTION_DYNAMODB_ENDPOINT is set
#   ADMIN_PORT_BASE        admin ports are BASE+1..BASE+6  (18080)
#   AUCTION_HTTP_ADDR      the gateway                     (127.0.0.1:8080)
#   AUCTION_PARTITIONS     as compose                      (6)
#   AUCTION_JWT_KEY        shared by every process          (a random one per run)
#   other AUCTION_*        passed to every process as they are
#
# Needs go, curl, java 17+ and mvn (Kafka, unless KAFKA_BROKERS) and node
# (dynalite, unless AUCTION_DYNAMODB_ENDPOINT).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${LOCAL_DIR:-${TMPDIR:-/tmp}/auction-local}
admin_base=${ADMIN_PORT_BASE:-18080}
start_timeout=120

die() { echo "up.sh: $*" >&2; exit 1; }
say() { echo "up.sh: $*"; }

for tool in go curl; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

mkdir -p "$dir"
say "building the binary into $dir/auction"
(cd "$root" && go build -o "$dir/auction" ./cmd/auction)

# ---- teardown: whatever was started, in reverse -------------------------------

names=() # platform processes, in start order
pids=()
admins=()
declare -A reaped=() # exit status by pid, of a process `wait -n` already reaped
dynalite_pid=
kafka_started=
export KAFKA_PORT=${KAFKA_PORT:-19292} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19293}
export KAFKA_DATA=${KAFKA_DATA:-$dir/kafka}

alive() { kill -0 "$1" 2>/dev/null; }

# await PID SECONDS: wait until PID (a child of this shell) has exited; 1 if
# it is still running after SECONDS.
await() {
	local pid=$1 deadline=$((SECONDS + $2))
	while alive "$pid"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

stopping=
teardown() {
	local status=$? i pid code failed=0
	[[ -z $stopping ]] || return
	stopping=1
	trap '' INT TERM
	for pid in "${pids[@]}"; do
		! alive "$pid" || kill -TERM "$pid" 2>/dev/null || true
	done
	for i in "${!pids[@]}"; do
		pid=${pids[$i]}
		if ! await "$pid" 30; then
			echo "up.sh: ${names[$i]} (pid $pid) ignored SIGTERM for 30 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			failed=1
		fi
		code=0
		if [[ -n ${reaped[$pid]:-} ]]; then
			code=${reaped[$pid]}
		else
			wait "$pid" 2>/dev/null || code=$?
		fi
		if ((code != 0)); then
			echo "up.sh: ${names[$i]} exited with status $code (see $dir/${names[$i]}.log)" >&2
			failed=1
		else
			say "${names[$i]} stopped"
		fi
	done
	if [[ -n $dynalite_pid ]] && alive "$dynalite_pid"; then
		kill -TERM "$dynalite_pid" 2>/dev/null || true
		await "$dynalite_pid" 5 || kill -KILL "$dynalite_pid" 2>/dev/null || true
		wait "$dynalite_pid" 2>/dev/null || true
		say "dynalite stopped"
	fi
	if [[ -n $kafka_started ]]; then
		bash "$root/infra/kafka/kafka.sh" stop || true
	fi
	((failed == 0)) || status=1
	exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- Kafka and DynamoDB ------------------------------------------------------------

if [[ -n ${KAFKA_BROKERS:-} ]]; then
	brokers=$KAFKA_BROKERS
	say "using Kafka at $brokers"
else
	bash "$root/infra/kafka/kafka.sh" fetch
	kafka_started=1
	bash "$root/infra/kafka/kafka.sh" start
	brokers=127.0.0.1:$KAFKA_PORT
fi

if [[ -n ${AUCTION_DYNAMODB_ENDPOINT:-} ]]; then
	endpoint=$AUCTION_DYNAMODB_ENDPOINT
	say "using DynamoDB at $endpoint"
else
	command -v node >/dev/null || die "node not found (dynalite needs Node.js 20+), or set AUCTION_DYNAMODB_ENDPOINT"
	[[ -x $root/infra/dynalite/node_modules/.bin/dynalite ]] ||
		npm ci --prefix "$root/infra/dynalite" --no-audit --no-fund
	port=${DYNALITE_PORT:-18000}
	endpoint=http://127.0.0.1:$port
	node "$root/infra/dynalite/serve.js" --host 127.0.0.1 --port "$port" --createTableMs 50 \
		</dev/null >"$dir/dynalite.log" 2>&1 &
	dynalite_pid=$!
	deadline=$((SECONDS + 30))
	until curl -s -o /dev/null "$endpoint/"; do
		alive "$dynalite_pid" || die "dynalite exited: $(cat "$dir/dynalite.log")"
		((SECONDS < deadline)) || die "dynalite did not answer on $endpoint within 30 s"
		sleep 0.2
	done
	say "dynalite at $endpoint"
fi

# ---- the platform ---------------------------------------------------------------

export AUCTION_KAFKA_BROKERS=$brokers
export AUCTION_PARTITIONS=${AUCTION_PARTITIONS:-6}
export AUCTION_REPLICATION=${AUCTION_REPLICATION:-1}
export AUCTION_STORE=dynamodb
export AUCTION_DYNAMODB_ENDPOINT=$endpoint
export AUCTION_DYNAMODB_REGION=${AUCTION_DYNAMODB_REGION:-us-east-1}
export AUCTION_LOG_FORMAT=${AUCTION_LOG_FORMAT:-json}
export AUCTION_HTTP_ADDR=${AUCTION_HTTP_ADDR:-127.0.0.1:8080}
if [[ -z ${AUCTION_JWT_KEY:-} ]]; then
	AUCTION_JWT_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
fi
export AUCTION_JWT_KEY

say "auction init (topics and tables)"
"$dir/auction" init

# start NAME TARGET [VAR=VALUE...]: one `auction run` in the background.
start() {
	local name=$1 target=$2 admin=127.0.0.1:$((admin_base + ${#pids[@]} + 1))
	shift 2
	# The process's name is its static group membership id: a restarted
	# process takes its partitions back without a rebalance.
	env AUCTION_TARGET="$target" AUCTION_ADMIN_ADDR="$admin" AUCTION_INSTANCE_ID="$name" "$@" \
		"$dir/auction" run </dev/null >"$dir/$name.log" 2>&1 &
	names+=("$name")
	pids+=($!)
	admins+=("$admin")
	say "$name (pid $!): admin http://$admin, log $dir/$name.log"
}
rm -rf "$dir/processor-1" "$dir/processor-2"
start gateway gateway AUCTION_DEMO_USERS=true
start processor-1 processor AUCTION_STATE_DIR="$dir/processor-1"
start processor-2 processor AUCTION_STATE_DIR="$dir/processor-2"
start closer closer
start notify notify
start analytics analytics
start lineage lineage

# Ready = every process's /readyz (compose's healthcheck) and the gateway's.
deadline=$((SECONDS + start_timeout))
for url in "${admins[@]/#/http://}" "http://$AUCTION_HTTP_ADDR"; do
	until curl -sf -o /dev/null "$url/readyz"; do
		for i in "${!pids[@]}"; do
			alive "${pids[$i]}" || die "${names[$i]} exited while starting; see $dir/${names[$i]}.log"
		done
		((SECONDS < deadline)) || die "$url/readyz not 200 within ${start_timeout}s"
		sleep 0.5
	done
done

# The gateway prints the demo users and tokens on stdout, before its JSON log.
grep -v '^{' "$dir/gateway.log" || true
say "ready: the API at http://$AUCTION_HTTP_ADDR; Ctrl-C stops everything"

# Until Ctrl-C, or until a platform process dies on its own.
code=0
dead=
wait -n -p dead "${pids[@]}" || code=$?
reaped[$dead]=$code
for i in "${!pids[@]}"; do
	if [[ ${pids[$i]} == "$dead" ]]; then
		echo "up.sh: ${names[$i]} exited on its own (status $code); stopping the rest. Its log: $dir/${names[$i]}.log" >&2
		tail -n 20 "$dir/${names[$i]}.log" >&2
	fi
done
exit 1
