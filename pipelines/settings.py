"""Every default of marsad's modes, written once: the command's flags, the stream job, the runners,
the report server, and the test and benchmark helpers all read them here.

Plain constants and the standard library only, so that anything (a test helper, a benchmark, the
argument parser) can import this module without importing Beam or Kafka. Defaults of the pure core
(article size limit, story thresholds) stay beside the code they bound, in ``transforms``, which
must not import ``pipelines``; the output kinds are a record-level fact, in ``schemas.records``.
"""

from __future__ import annotations

import os
from pathlib import Path

# --- Kafka -------------------------------------------------------------------------------------
BOOTSTRAP_ENV = "MARSAD_KAFKA_BOOTSTRAP"
FALLBACK_BOOTSTRAP = "127.0.0.1:19092"  # docker/kafka/broker.sh's listener


def default_bootstrap() -> str:
    """The environment is read at each call, not at import: the command builds its parser late,
    and a caller that sets the variable after importing this module still gets it."""
    return os.environ.get(BOOTSTRAP_ENV, FALLBACK_BOOTSTRAP)


# As the environment was when this module was imported (test and benchmark helpers).
DEFAULT_BOOTSTRAP = default_bootstrap()

# --- The pipeline --------------------------------------------------------------------------------
DEFAULT_RETENTION_SECONDS = 72 * 3600  # how long an article is remembered for deduplication
DEFAULT_OUTPUT_DIR = "out"

# --- Stream jobs ---------------------------------------------------------------------------------
DEFAULT_GROUP = "marsad"  # consumer group whose offsets are committed
DEFAULT_START = "earliest"  # where a group without committed offsets starts
DEFAULT_WINDOW_SECONDS = 60  # event-time window of file outputs
DEFAULT_IDLE_SECONDS = 5.0  # an idle partition's watermark moves on after this long
DEFAULT_PROGRESS_SECONDS = 30.0  # how often the progress line is printed

# --- Topics --------------------------------------------------------------------------------------
DEFAULT_PARTITIONS = 3  # partitions of a topic marsad creates
DEFAULT_INPUT_RETENTION_MS = -1  # `topics create`: keep records (replayed archives are years old)

# --- Runners -------------------------------------------------------------------------------------
# Job servers' state and message streams are opened with this deadline (Beam's default is 300 s):
# past it the driver loses sight of a job that is meant to run for months.
JOB_SERVER_TIMEOUT_SECONDS = 10 * 365 * 24 * 3600
DEFAULT_FLINK_MASTER = "[local]"  # a Flink embedded in the job server
DEFAULT_CHECKPOINT_MILLIS = 30_000  # Flink streaming jobs, unless --checkpointing_interval says otherwise

# --- The report server ---------------------------------------------------------------------------
DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8700


def default_seeds_dir() -> Path:
    """``seeds/`` of this checkout (the project is installed editable) or MARSAD_SEEDS."""
    return Path(os.environ.get("MARSAD_SEEDS", Path(__file__).resolve().parent.parent / "seeds"))
