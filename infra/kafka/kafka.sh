#!/usr/bin/env bash
# infra/kafka/kafka.sh — a real Apache Kafka 4.x broker on 127.0.0.1 for the
# integration tests (make test-integration) and CI. No Docker and no download
# outside Maven Central: the broker's jars come from infra/kafka/pom.xml.
#
#   kafka.sh fetch     copy the broker's jars into the cache (once per version)
#   kafka.sh start     format a fresh KRaft store and start one combined
#                      broker+controller in the background; waits until it
#                      answers, then prints KAFKA_BROKERS=... and its version
#   kafka.sh stop      stop the broker started by `start` and delete its data
#   kafka.sh kill      SIGKILL the broker, keeping its data (a crash)
#   kafka.sh resume    start the broker again on the data it left; waits
#                      until it answers (after `kill`: a broker restart)
#   kafka.sh version   print the version of the cached broker
#
# Environment (all optional):
#   KAFKA_PORT             client listener port         (19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port        (19093)
#   KAFKA_CACHE            where the jars are kept      ($HOME/.cache/auction-kafka/<version>)
#   KAFKA_DATA             the broker's data, pid, log  ($TMPDIR/auction-kafka-<port>)
#   KAFKA_START_TIMEOUT    seconds `start` waits        (60)
#
# Needs java (17 or newer) always, and mvn for `fetch` when the cache is empty.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom=$here/pom.xml
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
[[ -n $version ]] || { echo "kafka.sh: no <kafka.version> in $pom" >&2; exit 1; }

port=${KAFKA_PORT:-19092}
controller_port=${KAFKA_CONTROLLER_PORT:-19093}
cache=${KAFKA_CACHE:-${HOME:-/tmp}/.cache/auction-kafka/$version}
libs=$cache/libs
data=${KAFKA_DATA:-${TMPDIR:-/tmp}/auction-kafka-$port}
pidfile=$data/kafka.pid
logfile=$data/kafka.log
start_timeout=${KAFKA_START_TIMEOUT:-60}

die() { echo "kafka.sh: $*" >&2; exit 1; }

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

running() { [[ -f $pidfile ]] && is_ours "$(cat "$pidfile")"; }

# is_ours PID: PID is alive and is the broker of this data dir (not a reused pid).
is_ours() {
	local cmd
	{ cmd=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null || return 1
	[[ $cmd == *"kafka.Kafka $data/server.properties"* ]]
}

# "${java_tool[@]}" CLASS ARGS...: run a Kafka command-line tool from the cached jars.
java_tool=(java -Xmx256m -Dlog4j2.configurationFile="$data/log4j2-tools.properties" -cp "$libs/*")

write_config() {
	cat >"$data/server.properties" <<-EOF
		# Written by infra/kafka/kafka.sh: one node, broker and KRaft controller.
		process.roles=broker,controller
		node.id=1
		listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
		advertised.listeners=PLAINTEXT://127.0.0.1:$port
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
		inter.broker.listener.name=PLAINTEXT
		controller.listener.names=CONTROLLER
		controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
		log.dirs=$data/logs

		# A single node: every internal topic has one replica.
		default.replication.factor=1
		min.insync.replicas=1
		offsets.topic.replication.factor=1
		offsets.topic.num.partitions=10
		transaction.state.log.replication.factor=1
		transaction.state.log.min.isr=1
		share.coordinator.state.topic.replication.factor=1
		share.coordinator.state.topic.min.isr=1

		# Tests: no waiting for more members before the first rebalance, and
		# topics exist only when the platform (or a test) creates them.
		group.initial.rebalance.delay.ms=0
		auto.create.topics.enable=false
		num.partitions=1
	EOF
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

# fail_start MESSAGE: a start that went wrong shows the broker's log, stops
# what it started and keeps the data dir to look at (the next start wipes it).
fail_start() {
	echo "kafka.sh: $*" >&2
	if [[ -f $logfile ]]; then
		echo "---- last lines of $logfile" >&2
		tail -n 60 "$logfile" >&2
		echo "----" >&2
	fi
	if [[ -f $pidfile ]]; then
		stop_pid "$(cat "$pidfile")"
		rm -f "$pidfile"
	fi
	echo "kafka.sh: the broker's files are in $data" >&2
	exit 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
	need_java
	[[ -f $libs/kafka_2.13-$version.jar ]] || die "no Kafka $version in $libs: run kafka.sh fetch first"
	if running; then
		die "a broker is already running from $data (pid $(cat "$pidfile")): kafka.sh stop first"
	fi
	for p in "$port" "$controller_port"; do
		! port_open "$p" || die "127.0.0.1:$p is already in use"
	done
	rm -rf "$data"
	mkdir -p "$data/logs"
	write_config

	local id
	id=$("${java_tool[@]}" kafka.tools.StorageTool random-uuid)
	"${java_tool[@]}" kafka.tools.StorageTool format --standalone -t "$id" -c "$data/server.properties" \
		>"$data/format.log" 2>&1 || { cat "$data/format.log" >&2; die "formatting the KRaft storage failed"; }
	launch
}

# launch: run the broker of $data in the background and wait until it answers.
launch() {
	# Small heap: one test broker on a 2-core CI machine. nohup and the
	# redirections detach it from the calling shell (make's recipe).
	nohup java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$data/log4j2.properties" \
		-cp "$libs/*" kafka.Kafka "$data/server.properties" \
		</dev/null >"$logfile" 2>&1 &
	local pid=$!
	echo "$pid" >"$pidfile"
	# While it starts, "alive" is enough: the pid is our own child, and it
	# may not have become java yet (is_ours would say no).

	# Ready = the client port accepts connections and the broker answers a
	# metadata request (TopicCommand --list goes through the Admin API).
	local deadline=$((SECONDS + start_timeout))
	until port_open "$port"; do
		kill -0 "$pid" 2>/dev/null || fail_start "the broker exited while starting"
		((SECONDS < deadline)) || fail_start "the broker did not open 127.0.0.1:$port within ${start_timeout}s"
		sleep 0.5
	done
	until timeout 30 "${java_tool[@]}" org.apache.kafka.tools.TopicCommand \
		--bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>"$data/probe.log"; do
		kill -0 "$pid" 2>/dev/null || fail_start "the broker exited while starting"
		((SECONDS < deadline)) || { cat "$data/probe.log" >&2; fail_start "the broker did not answer metadata within ${start_timeout}s"; }
		sleep 1
	done
	echo "KAFKA_BROKERS=127.0.0.1:$port"
	cmd_version
}

# stop_pid PID: stop the broker PID if it is still ours, and wait until it is gone.
stop_pid() {
	local pid=$1 i
	is_ours "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	# A clean shutdown of a single node takes a second or two.
	for ((i = 0; i < 60; i++)); do
		is_ours "$pid" || break
		sleep 0.5
	done
	if is_ours "$pid"; then
		echo "kafka.sh: broker $pid ignored SIGTERM for 30s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		while is_ours "$pid"; do sleep 0.2; done
	fi
	echo "kafka.sh: broker $pid stopped"
}

cmd_kill() {
	running || die "no broker running from $data"
	kill -KILL "$(cat "$pidfile")"
	while running; do sleep 0.1; done
	echo "kafka.sh: broker killed; its data is kept in $data"
}

cmd_resume() {
	need_java
	[[ -f $data/server.properties ]] || die "no broker data in $data: kafka.sh start first"
	! running || die "a broker is already running from $data (pid $(cat "$pidfile"))"
	launch
}

cmd_stop() {
	if [[ -f $pidfile ]]; then
		stop_pid "$(cat "$pidfile")"
	else
		echo "kafka.sh: no broker running from $data"
	fi
	rm -rf "$data"
}

case ${1:-} in
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
kill) cmd_kill ;;
resume) cmd_resume ;;
version) cmd_version ;;
*)
	echo "usage: $0 fetch|start|stop|kill|resume|version" >&2
	exit 2
	;;
esac
