#!/usr/bin/env bash
# Beam's Flink job server (the portable runner's front end for Flink 1.19), built once with Maven
# from Maven Central jars (docker/flink/pom.xml) into .cache/flink. No Docker needed.
#
#   docker/flink/job-server.sh build          build the shaded jar once (cached); prints its path
#   docker/flink/job-server.sh jar            print the jar's path (exit 1 if not built)
#   docker/flink/job-server.sh start [MASTER] run it in the background: MASTER is [local] (embedded
#                                              Flink, the default) or HOST:PORT of a session cluster
#   docker/flink/job-server.sh stop
#   docker/flink/job-server.sh status         exit 0 if its job port answers
#
# `marsad run --runner flink` starts its own job server from the jar (pipelines/runners/flink.py); start
# one here to share it between runs: `marsad run --runner flink --job-endpoint localhost:8099`.
# Environment: MARSAD_FLINK_HOME (default .cache/flink), MARSAD_FLINK_JOB_PORT (8099; the artifact
# and expansion services take the next two ports below it: 8098, 8097).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${MARSAD_FLINK_HOME:-$root/.cache/flink}"
jar_name="beam-runners-flink-1.19-job-server-2.70.0.jar"
jar="$home/$jar_name"
job_port="${MARSAD_FLINK_JOB_PORT:-8099}"
pidfile="$home/job-server-$job_port.pid"
logfile="$home/job-server-$job_port.log"

die() { echo "job-server.sh: $*" >&2; exit 1; }

build() {
  if [ ! -f "$jar" ]; then
    command -v mvn >/dev/null || die "mvn not found (Maven builds the job server once)"
    command -v java >/dev/null || die "java not found (Java 17 runs the job server)"
    echo "job-server.sh: building the Flink job server with Maven into $home (once; ~200 MB of jars)" >&2
    mkdir -p "$home"
    mvn -q -B -Dstyle.color=never -f "$here/pom.xml" package -Djobserver.build="$home/build" >&2
    mv "$home/build/$jar_name" "$jar.partial"
    rm -rf "$home/build"
    mv "$jar.partial" "$jar"
  fi
  echo "$jar"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$job_port") 2>/dev/null; }

start() {
  local master="${1:-[local]}"
  build >/dev/null
  if running; then echo "job-server.sh: already running on localhost:$job_port" >&2; return; fi
  nohup java -jar "$jar" --flink-master="$master" --job-port="$job_port" \
    --artifact-port="$((job_port - 1))" --expansion-port="$((job_port - 2))" >"$logfile" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 60); do
    if answers; then echo "job-server.sh: Flink job server on localhost:$job_port (master $master, log $logfile)" >&2; return; fi
    running || { tail -30 "$logfile" >&2; die "job server exited during start-up"; }
    sleep 1
  done
  die "job server did not answer within 60 s"
}

stop() {
  if running; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  build) build ;;
  jar) [ -f "$jar" ] && echo "$jar" ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  status) running && answers ;;
  *) echo "usage: $0 build|jar|start [MASTER]|stop|status" >&2; exit 2 ;;
esac
