#!/usr/bin/env bash
# Run a command with the Flink job-server jar built and the local session cluster up; stop the
# cluster afterwards.   docker/flink/with-cluster.sh .venv/bin/pytest
# Without Java or Maven the command still runs and the Flink tests skip, except under CI=true,
# where a cluster that cannot start fails the run.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export MARSAD_FLINK_MASTER="${MARSAD_FLINK_MASTER:-$("$here/cluster.sh" url)}"
started=0
if "$here/job-server.sh" build >/dev/null && "$here/cluster.sh" start; then
  started=1
elif [ "${CI:-}" = "true" ]; then
  echo "with-cluster.sh: the Flink job server or cluster could not start, and CI needs them" >&2
  exit 1
else
  echo "with-cluster.sh: no Flink cluster; Flink tests will be skipped" >&2
fi
cleanup() { [ "$started" = 1 ] && "$here/cluster.sh" stop; }
trap cleanup EXIT
"$@"
