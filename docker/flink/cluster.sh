#!/usr/bin/env bash
# A local Apache Flink 1.19 session cluster (one JobManager, one TaskManager with two slots, REST on
# localhost) for marsad's tests and local runs. The Flink jars come from the PyPI sdist
# apache-flink-libraries (it carries Flink's lib/ and BashJavaUtils, but no scripts and no conf);
# this script is the missing start-up: conf from config.yaml.in, JVM memory flags computed by
# Flink's own BashJavaUtils, Java 17 module flags, pid and log files. No Docker needed.
#
#   docker/flink/cluster.sh start    fetch the jars once (cached), start, wait until a TaskManager registered
#   docker/flink/cluster.sh stop     stop both processes (checkpoints and savepoints are kept)
#   docker/flink/cluster.sh status   exit 0 if the REST API answers with a TaskManager registered
#   docker/flink/cluster.sh url      print the REST address (what --flink-master takes)
#
# Environment: MARSAD_FLINK_REST_PORT (default 8081), MARSAD_FLINK_RPC_PORT (default 6123),
# MARSAD_FLINK_HOME (default .cache/flink in the checkout: jars, conf, logs, checkpoints).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flink_version="1.19.3"
rest_port="${MARSAD_FLINK_REST_PORT:-8081}"
rpc_port="${MARSAD_FLINK_RPC_PORT:-6123}"
home="${MARSAD_FLINK_HOME:-$root/.cache/flink}"
dist="$home/flink-$flink_version"
run="$home/cluster-$rest_port"
conf="$run/conf"
state="$run/state"
url="localhost:$rest_port"

# Flink's own default for Java 17 (env.java.opts.all in the distribution's config.yaml).
java_modules=(
  -XX:+IgnoreUnrecognizedVMOptions
  --add-exports=java.base/sun.net.util=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

die() { echo "cluster.sh: $*" >&2; exit 1; }

python_for_pip() {
  if [ -x "$root/.venv/bin/python" ]; then echo "$root/.venv/bin/python"; else echo python3; fi
}

fetch_dist() {
  [ -f "$dist/.complete" ] && return
  command -v java >/dev/null || die "java not found (Java 17 runs Flink)"
  echo "cluster.sh: fetching apache-flink-libraries==$flink_version from PyPI into $home (once)" >&2
  mkdir -p "$home" "$dist"
  local sdist="$home/apache-flink-libraries-$flink_version.tar.gz"
  if [ ! -f "$sdist" ]; then
    "$(python_for_pip)" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      "apache-flink-libraries==$flink_version" -d "$home"
  fi
  tar xzf "$sdist" --strip-components=2 -C "$dist" \
    "apache-flink-libraries-$flink_version/deps/lib" "apache-flink-libraries-$flink_version/deps/bin"
  [ -f "$dist/lib/flink-dist-$flink_version.jar" ] || die "no flink-dist jar in $sdist"
  touch "$dist/.complete"
}

write_conf() {
  mkdir -p "$conf" "$state/tmp" "$run/log"
  sed -e "s|@REST_PORT@|$rest_port|g" -e "s|@RPC_PORT@|$rpc_port|g" -e "s|@STATE@|$state|g" \
    "$here/config.yaml.in" > "$conf/config.yaml"
  cp "$here/log4j.properties" "$conf/log4j.properties"
}

# BashJavaUtils prints two result lines: JVM flags, then -D settings the process must be given.
resource_params() {
  local output
  output="$(java -cp "$dist/bin/bash-java-utils.jar:$dist/lib/*" -Dlog4j2.configurationFile=/dev/null \
    org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$conf" 2>&1)" \
    || { echo "$output" >&2; die "BashJavaUtils $1 failed"; }
  echo "$output" | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://'
}

launch() {  # launch NAME MAIN_CLASS PARAMS_COMMAND
  local name="$1" main="$2" params jvm dynamic
  params="$(resource_params "$3")"
  jvm="$(echo "$params" | sed -n 1p)"
  dynamic="$(echo "$params" | sed -n 2p)"
  # shellcheck disable=SC2086  # both are lists of flags
  nohup java $jvm "${java_modules[@]}" \
    -Dlog.file="$run/log/$name.log" -Dlog4j.configurationFile="$conf/log4j.properties" \
    -cp "$dist/lib/*" "$main" --configDir "$conf" $dynamic >"$run/log/$name.out" 2>&1 &
  echo $! > "$run/$name.pid"
}

running() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

answers() {
  curl -fsS "http://$url/overview" 2>/dev/null | grep -q '"taskmanagers":[1-9]'
}

start() {
  fetch_dist
  if running jobmanager && answers; then echo "cluster.sh: already running at $url" >&2; return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$rest_port") 2>/dev/null; then die "port $rest_port is taken by another process"; fi
  write_conf
  launch jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint GET_JM_RESOURCE_PARAMS
  launch taskmanager org.apache.flink.runtime.taskexecutor.TaskManagerRunner GET_TM_RESOURCE_PARAMS
  for _ in $(seq 1 90); do
    if answers; then echo "cluster.sh: Flink $flink_version session cluster at http://$url (logs: $run/log)" >&2; return; fi
    for name in jobmanager taskmanager; do
      running "$name" || { tail -30 "$run/log/$name.log" "$run/log/$name.out" >&2 2>/dev/null; stop; die "$name exited during start-up"; }
    done
    sleep 1
  done
  tail -30 "$run/log/jobmanager.log" >&2 || true
  stop
  die "no TaskManager registered within 90 s"
}

stop_one() {
  running "$1" || { rm -f "$run/$1.pid"; return; }
  local pid; pid="$(cat "$run/$1.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$run/$1.pid"
}

stop() {
  stop_one taskmanager
  stop_one jobmanager
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running jobmanager && answers ;;
  url) echo "$url" ;;
  fetch) fetch_dist ;;
  *) echo "usage: $0 start|stop|status|url|fetch" >&2; exit 2 ;;
esac
