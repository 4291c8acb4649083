#!/usr/bin/env bash
# A real Apache Kafka 4.x broker (KRaft, single node, loopback) for marsad's tests and local runs,
# assembled from Maven Central jars and started with the machine's Java 17. No Docker needed.
#
#   docker/kafka/broker.sh start    fetch jars once (cached), format storage, start, wait until ready
#   docker/kafka/broker.sh stop     stop it and delete its data
#   docker/kafka/broker.sh status   exit 0 if it answers
#
# Environment: MARSAD_KAFKA_PORT (default 19092), MARSAD_KAFKA_HOME (default .cache/kafka in the
# checkout: jars, config, data and log live there).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${MARSAD_KAFKA_PORT:-19092}"
controller_port="$((port + 1))"
home="${MARSAD_KAFKA_HOME:-$root/.cache/kafka}"
jars="$home/jars"
data="$home/data-$port"
pidfile="$home/broker-$port.pid"
logfile="$home/broker-$port.log"
config="$home/server-$port.properties"

die() { echo "broker.sh: $*" >&2; exit 1; }

need_tools() {
  command -v java >/dev/null || die "java not found (Java 17+ is needed to run the broker)"
  command -v mvn >/dev/null || [ -f "$jars/.complete" ] || die "mvn not found (Maven fetches the broker's jars once)"
}

fetch_jars() {
  [ -f "$jars/.complete" ] && return
  echo "broker.sh: fetching Apache Kafka jars from Maven Central into $jars (once)" >&2
  mkdir -p "$jars"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$jars" -DincludeScope=runtime
  touch "$jars/.complete"
}

answers() {
  # The port alone opens before the broker serves: wait for its own "started" line too.
  grep -q "Kafka Server started" "$logfile" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  need_tools
  fetch_jars
  if running; then echo "broker.sh: already running on 127.0.0.1:$port" >&2; return; fi
  mkdir -p "$home"
  rm -rf "$data"
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" -e "s|@DATA@|$data|g" \
    "$here/server.properties.in" > "$config"
  local cluster_id
  # The tool logs to stdout too (log4j's console appender): keep only the id, 22 base64url characters.
  cluster_id="$(java -cp "$jars/*" -Dlog4j2.configurationFile="$here/log4j2.properties" kafka.tools.StorageTool random-uuid \
    | grep -E '^[A-Za-z0-9_-]{22}$' | tail -n 1)"
  [ -n "$cluster_id" ] || die "kafka.tools.StorageTool random-uuid printed no cluster id"
  java -cp "$jars/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$config" >/dev/null
  nohup java -Xms256m -Xmx768m -cp "$jars/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    kafka.Kafka "$config" >"$logfile" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if answers; then echo "broker.sh: Kafka ready on 127.0.0.1:$port (log: $logfile)" >&2; return; fi
    running || { tail -30 "$logfile" >&2; die "broker exited during start-up"; }
    sleep 1
  done
  tail -30 "$logfile" >&2
  die "broker did not answer within 120 s"
}

stop() {
  if running; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  rm -rf "$data"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running && answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
