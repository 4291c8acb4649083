#!/usr/bin/env bash
# Run a command with the project's Kafka broker up; stop the broker afterwards.
#   docker/kafka/with-broker.sh .venv/bin/pytest
# Without Java or Maven the command still runs and the Kafka tests skip, except under CI=true,
# where a broker that cannot start fails the run.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export MARSAD_KAFKA_BOOTSTRAP="${MARSAD_KAFKA_BOOTSTRAP:-127.0.0.1:${MARSAD_KAFKA_PORT:-19092}}"
started=0
if "$here/broker.sh" start; then
  started=1
elif [ "${CI:-}" = "true" ]; then
  echo "with-broker.sh: the Kafka broker could not start, and CI needs it" >&2
  exit 1
else
  echo "with-broker.sh: no broker; Kafka tests will be skipped" >&2
fi
cleanup() { [ "$started" = 1 ] && "$here/broker.sh" stop; }
trap cleanup EXIT
"$@"
