#!/usr/bin/env bash
# infra/kafka/kafka.sh — a real Apache Kafka 4.x broker on 127.0.0.1 for the
# integration tests (make test-integration) and CI. No Docker and no download
# outside Maven Central: the broker's jars come from infra/kafka/pom.xml.
#
#   kafka.sh fetch        copy the broker's jars into the cache (once per version)
#   kafka.sh start        format a fresh KRaft store and start the node(s) in
#                         the background, each a combined broker+controller;
#                         waits until every node answers, then prints
#                         KAFKA_BROKERS=... and the version
#   kafka.sh stop         stop the nodes started by `start` and delete their data
#   kafka.sh kill [ID]    SIGKILL node ID (every node if none), keeping its
#                         data (a crash)
#   kafka.sh resume [ID]  start node ID (every stopped node if none) again on
#                         the data it left; waits until it answers
#   kafka.sh version      print the version of the cached broker
#
# One port in KAFKA_PORT is one node. Several ports (and as many controller
# ports) make a cluster on 127.0.0.1: node IDs 1, 2, 3… in the order given,
# a static KRaft quorum of all of them, replication factor 3 (or the number
# of nodes, if fewer) and min.insync.replicas 2 for every topic by default:
# with acks=all, a write then survives the loss of any one node.
#
#   KAFKA_PORT=19092,19094,19096 KAFKA_CONTROLLER_PORT=19093,19095,19097 kafka.sh start
#
# Environment (all optional):
#   KAFKA_PORT             client listener port(s)      (19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port(s)     (19093)
#   KAFKA_CACHE            where the jars are kept      ($HOME/.cache/auction-kafka/<version>)
#   KAFKA_DATA             the nodes' data, pid, log    ($TMPDIR/auction-kafka-<first port>;
#                                                        node-<ID>/ below it in a cluster)
#   KAFKA_START_TIMEOUT    seconds `start` waits        (60)
#
# Needs java (17 or newer) always, and mvn for `fetch` when the cache is empty.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom=$here/pom.xml
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
[[ -n $version ]] || { echo "kafka.sh: no <kafka.version> in $pom" >&2; exit 1; }

die() { echo "kafka.sh: $*" >&2; exit 1; }

IFS=, read -r -a ports <<<"${KAFKA_PORT:-19092}"
IFS=, read -r -a controller_ports <<<"${KAFKA_CONTROLLER_PORT:-19093}"
nodes=${#ports[@]}
((nodes == ${#controller_ports[@]})) || die "KAFKA_PORT has $nodes port(s), KAFKA_CONTROLLER_PORT ${#controller_ports[@]}: give one of each per node"
cache=${KAFKA_CACHE:-${HOME:-/tmp}/.cache/auction-kafka/$version}
libs=$cache/libs
data=${KAFKA_DATA:-${TMPDIR:-/tmp}/auction-kafka-${ports[0]}}
start_timeout=${KAFKA_START_TIMEOUT:-60}
replication=$((nodes < 3 ? nodes : 3))
min_isr=$((nodes < 2 ? 1 : 2))

# The files of node ID (1-based): a single node keeps them in $data itself.
node_dir() { if ((nodes == 1)); then echo "$data"; else echo "$data/node-$1"; fi; }
pidfile() { echo "$(node_dir "$1")/kafka.pid"; }
logfile() { echo "$(node_dir "$1")/kafka.log"; }
port_of() { echo "${ports[$1 - 1]}"; }
all_ids() { seq 1 "$nodes"; }
bootstrap() {
	local id out=()
	for id in $(all_ids); do out+=("127.0.0.1:$(port_of "$id")"); done
	(IFS=,; echo "${out[*]}")
}

# ids ARG: the node IDs a kill/resume applies to (ARG, or every node);
# check_id ARG first, in the calling shell, so a wrong one stops the script.
ids() { if [[ -z ${1:-} ]]; then all_ids; else echo "$1"; fi; }
check_id() {
	[[ -z ${1:-} ]] || { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= nodes)); } ||
		die "no node $1: the node IDs are 1..$nodes"
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

need_java() {
	need java "install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)"
	local major
	major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
	[[ ${major:-0} -ge 17 ]] || die "Kafka $version needs Java 17 or newer, java is ${major:-unknown}"
}

# The stamp records which pom filled the cache, so a changed pom refetches.
stamp() { sha256sum "$pom" | cut -d' ' -f1; }

cmd_fetch() {
	if [[ -f $cache/.complete && $(cat "$cache/.complete") == "$(stamp)" ]]; then
		echo "kafka.sh: Kafka $version jars cached in $libs"
		return
	fi
	need mvn "install Maven (Debian: apt-get install maven) to fetch the broker from Maven Central"
	echo "kafka.sh: fetching Kafka $version into $libs"
	rm -rf "$libs" "$cache/.complete"
	mkdir -p "$cache"
	mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs" >"$cache/fetch.log" 2>&1 ||
		{ cat "$cache/fetch.log" >&2; die "mvn could not fetch Kafka $version (see above)"; }
	[[ -f $libs/kafka_2.13-$version.jar ]] || die "fetch left no kafka_2.13-$version.jar in $libs"
	stamp >"$cache/.complete"
}

# The version of the broker jar actually on the class path.
broker_version() {
	local jars=("$libs"/kafka_2.13-*.jar) jar
	[[ -f ${jars[0]} ]] || die "no broker in $libs: run kafka.sh fetch"
	jar=${jars[0]##*/kafka_2.13-}
	echo "${jar%.jar}"
}

cmd_version() {
	local v
	v=$(broker_version)
	echo "Kafka broker version $v (kafka_2.13, KRaft)"
}

# running ID: node ID is up.
running() { [[ -f $(pidfile "$1") ]] && is_ours "$1" "$(cat "$(pidfile "$1")")"; }

# is_ours ID PID: PID is alive and is node ID of this data dir (not a reused pid).
is_ours() {
	local cmd
	{ cmd=$(tr '\0' ' ' <"/proc/$2/cmdline"); } 2>/dev/null || return 1
	[[ $cmd == *"kafka.Kafka $(node_dir "$1")/server.properties"* ]]
}

# "${java_tool[@]}" CLASS ARGS...: run a Kafka command-line tool from the cached jars.
java_tool=(java -Xmx256m -Dlog4j2.configurationFile="$data/log4j2-tools.properties" -cp "$libs/*")

# write_config ID: node ID's server.properties.
write_config() {
	local id=$1 dir port controller_port quorum voters=() i
	dir=$(node_dir "$id")
	port=$(port_of "$id")
	controller_port=${controller_ports[$id - 1]}
	if ((nodes == 1)); then
		# One node: a dynamic quorum, formatted --standalone.
		quorum="controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
	else
		for i in $(all_ids); do voters+=("$i@127.0.0.1:${controller_ports[$i - 1]}"); done
		quorum="controller.quorum.voters=$(IFS=,; echo "${voters[*]}")"
	fi
	mkdir -p "$dir/logs"
	cat >"$dir/server.properties" <<-EOF
		# Written by infra/kafka/kafka.sh: node $id of $nodes, broker and KRaft controller.
		process.roles=broker,controller
		node.id=$id
		listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
		advertised.listeners=PLAINTEXT://127.0.0.1:$port
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
		inter.broker.listener.name=PLAINTEXT
		controller.listener.names=CONTROLLER
		$quorum
		log.dirs=$dir/logs

		# $replication replica(s) of every topic, internal ones included; a
		# write acknowledged with acks=all is on at least $min_isr of them.
		default.replication.factor=$replication
		min.insync.replicas=$min_isr
		offsets.topic.replication.factor=$replication
		offsets.topic.num.partitions=10
		transaction.state.log.replication.factor=$replication
		transaction.state.log.min.isr=$min_isr
		share.coordinator.state.topic.replication.factor=$replication
		share.coordinator.state.topic.min.isr=$min_isr
		# A restarted node takes back the leadership it had (the default
		# checks every 300 s).
		leader.imbalance.check.interval.seconds=5
		# The controller fences a node that stopped heartbeating after 4 s
		# (default 9 s), and only then moves its partitions' leadership:
		# this is how long a crashed leader's partitions cannot be written.
		broker.session.timeout.ms=4000
		broker.heartbeat.interval.ms=1000

		# Tests: no waiting for more members before the first rebalance, and
		# topics exist only when the platform (or a test) creates them.
		group.initial.rebalance.delay.ms=0
		auto.create.topics.enable=false
		num.partitions=1
	EOF
}

# write_logging: the log4j2 files every node and tool shares.
write_logging() {
	# The broker logs to stdout (kafka.log); the request and state-change
	# loggers are too chatty for a test run.
	cat >"$data/log4j2.properties" <<-'EOF'
		status = warn
		appender.out.type = Console
		appender.out.name = out
		appender.out.layout.type = PatternLayout
		appender.out.layout.pattern = [%d] %p %m (%c)%n
		rootLogger.level = info
		rootLogger.appenderRef.out.ref = out
		logger.request.name = kafka.request.logger
		logger.request.level = warn
		logger.state.name = state.change.logger
		logger.state.level = warn
	EOF
	cat >"$data/log4j2-tools.properties" <<-'EOF'
		status = warn
		appender.err.type = Console
		appender.err.name = err
		appender.err.target = SYSTEM_ERR
		appender.err.layout.type = PatternLayout
		appender.err.layout.pattern = %p %m (%c)%n
		rootLogger.level = warn
		rootLogger.appenderRef.err.ref = err
	EOF
}

# fail_start ID MESSAGE: a start that went wrong shows node ID's log, stops
# the nodes it started and keeps the data dir to look at (the next start
# wipes it).
fail_start() {
	local id=$1 log i
	shift
	echo "kafka.sh: node $id: $*" >&2
	log=$(logfile "$id")
	if [[ -f $log ]]; then
		echo "---- last lines of $log" >&2
		tail -n 60 "$log" >&2
		echo "----" >&2
	fi
	for i in $(all_ids); do
		if [[ -f $(pidfile "$i") ]]; then
			stop_pid "$i" "$(cat "$(pidfile "$i")")"
			rm -f "$(pidfile "$i")"
		fi
	done
	echo "kafka.sh: the broker's files are in $data" >&2
	exit 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
	need_java
	[[ -f $libs/kafka_2.13-$version.jar ]] || die "no Kafka $version in $libs: run kafka.sh fetch first"
	local id p cluster
	for id in $(all_ids); do
		if running "$id"; then
			die "a broker is already running from $(node_dir "$id") (pid $(cat "$(pidfile "$id")")): kafka.sh stop first"
		fi
	done
	for p in "${ports[@]}" "${controller_ports[@]}"; do
		! port_open "$p" || die "127.0.0.1:$p is already in use"
	done
	rm -rf "$data"
	mkdir -p "$data"
	write_logging
	cluster=$("${java_tool[@]}" kafka.tools.StorageTool random-uuid)
	for id in $(all_ids); do
		write_config "$id"
		local format=(--standalone)
		((nodes == 1)) || format=() # the static quorum names every voter
		"${java_tool[@]}" kafka.tools.StorageTool format "${format[@]}" -t "$cluster" -c "$(node_dir "$id")/server.properties" \
			>"$data/format.log" 2>&1 || { cat "$data/format.log" >&2; die "formatting node $id's KRaft storage failed"; }
	done
	launch $(all_ids)
	echo "KAFKA_BROKERS=$(bootstrap)"
	cmd_version
}

# launch ID...: run the named nodes in the background, then wait until each
# one answers. (A node of a cluster answers once a quorum of controllers
# is up, so all of them start before any is waited for.)
launch() {
	local id pid
	for id in "$@"; do
		# Small heap: test brokers on a 2-core CI machine. nohup and the
		# redirections detach it from the calling shell (make's recipe).
		nohup java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
			-Dlog4j2.configurationFile="$data/log4j2.properties" \
			-cp "$libs/*" kafka.Kafka "$(node_dir "$id")/server.properties" \
			</dev/null >"$(logfile "$id")" 2>&1 &
		echo $! >"$(pidfile "$id")"
	done
	for id in "$@"; do await "$id"; done
}

# await ID: wait until node ID has started: its client port accepts
# connections and its log says it is serving ("Kafka Server started" comes
# after the controller unfenced it, so it answers metadata and leads again).
# The log is enough: a Kafka CLI as the probe costs a JVM start, which on a
# busy 2-core machine is 10–20 s. While it starts, "alive" is enough: the
# pid is our own child, and it may not have become java yet (is_ours would
# say no).
await() {
	local id=$1 pid port log deadline=$((SECONDS + start_timeout))
	pid=$(cat "$(pidfile "$id")")
	port=$(port_of "$id")
	log=$(logfile "$id")
	until port_open "$port" && grep -q 'Kafka Server started' "$log"; do
		kill -0 "$pid" 2>/dev/null || fail_start "$id" "the broker exited while starting"
		((SECONDS < deadline)) || fail_start "$id" "the broker did not start serving on 127.0.0.1:$port within ${start_timeout}s"
		sleep 0.2
	done
	((nodes == 1)) || echo "kafka.sh: node $id answers on 127.0.0.1:$port"
}

# stop_pid ID PID: stop node ID's broker PID if it is still ours, and wait
# until it is gone.
stop_pid() {
	is_ours "$1" "$2" || return 0
	kill -TERM "$2" 2>/dev/null || true
	await_gone "$1" "$2"
}

# await_gone ID PID: wait until node ID's broker PID, told to stop, is gone
# (a clean shutdown takes a second or two); kill it after 30 s.
await_gone() {
	local id=$1 pid=$2 i
	for ((i = 0; i < 60; i++)); do
		is_ours "$id" "$pid" || break
		sleep 0.5
	done
	if is_ours "$id" "$pid"; then
		echo "kafka.sh: broker $pid ignored SIGTERM for 30s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		while is_ours "$id" "$pid"; do sleep 0.2; done
	fi
	echo "kafka.sh: node $id (pid $pid) stopped"
}

cmd_kill() {
	local id
	check_id "${1:-}"
	for id in $(ids "${1:-}"); do
		if ! running "$id"; then
			[[ -z ${1:-} ]] || die "node $id is not running from $(node_dir "$id")"
			continue
		fi
		kill -KILL "$(cat "$(pidfile "$id")")"
		while running "$id"; do sleep 0.1; done
		echo "kafka.sh: node $id killed; its data is kept in $(node_dir "$id")"
	done
}

cmd_resume() {
	need_java
	local id todo=()
	check_id "${1:-}"
	for id in $(ids "${1:-}"); do
		[[ -f $(node_dir "$id")/server.properties ]] || die "no broker data in $(node_dir "$id"): kafka.sh start first"
		if running "$id"; then
			[[ -z ${1:-} ]] || die "node $id is already running from $(node_dir "$id") (pid $(cat "$(pidfile "$id")"))"
			continue
		fi
		todo+=("$id")
	done
	((${#todo[@]} > 0)) || die "every node is running"
	launch "${todo[@]}"
	echo "KAFKA_BROKERS=$(bootstrap)"
	cmd_version
}

cmd_stop() {
	local id pids=()
	# Every node at once: the last ones of a cluster cannot shut down
	# cleanly once their quorum is gone, so none waits for another.
	for id in $(all_ids); do
		if running "$id"; then
			pids[id]=$(cat "$(pidfile "$id")")
			kill -TERM "${pids[id]}" 2>/dev/null || true
		fi
	done
	for id in "${!pids[@]}"; do await_gone "$id" "${pids[id]}"; done
	((${#pids[@]} > 0)) || echo "kafka.sh: no broker running from $data"
	rm -rf "$data"
}

case ${1:-} in
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
kill) cmd_kill "${2:-}" ;;
resume) cmd_resume "${2:-}" ;;
version) cmd_version ;;
*)
	echo "usage: $0 fetch|start|stop|kill [ID]|resume [ID]|version" >&2
	exit 2
	;;
esac
