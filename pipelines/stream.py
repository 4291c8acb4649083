"""Kafka in; Kafka topics (or windowed files) out: the streaming mode of the pipeline graph.

Besides building the pipeline, this is what makes a stream job operable: a progress line with
lag and watermark delay (``progress.py``), quiet logs, and a quiet stop on SIGTERM or Ctrl-C (on
Flink, a stop with a savepoint). Which runner runs the job, and the runner processes marsad
starts for it, are ``pipelines.runners``' concern.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions
from apache_beam.runners.runner import PipelineResult, PipelineState
from apache_beam.transforms.window import FixedWindows

from pipelines.config import GraphConfig
from pipelines.graph import GraphOutputs, build_graph
from pipelines.progress import ProgressReporter
from pipelines.runners.flink import run_on_flink_until_stopped
from pipelines.settings import (
    DEFAULT_GROUP,
    DEFAULT_IDLE_SECONDS,
    DEFAULT_PROGRESS_SECONDS,
    DEFAULT_START,
    DEFAULT_WINDOW_SECONDS,
)
from schemas.records import OUTPUT_KINDS
from transforms.io.files.sink import to_json_line
from transforms.io.kafka.address import KafkaAddress
from transforms.io.kafka.admin import PartitionPlan, WrittenToStops, ensure_output_topics, plan_partitions
from transforms.io.kafka.sink import WriteToKafka
from transforms.io.kafka.source import ReadFromKafka

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSettings:
    """What a stream job reads and how it reports, besides its addresses and the graph's config."""

    group: str = DEFAULT_GROUP
    start: str = DEFAULT_START
    stop_at_end: bool = False
    max_records: int | None = None
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    progress_seconds: float = DEFAULT_PROGRESS_SECONDS


def attach_windowed_file_sinks(outputs: GraphOutputs, directory: str, window_seconds: int) -> None:
    """One set of files per event-time window: ``<kind>-<window>-<shard>.jsonl``."""
    os.makedirs(directory, exist_ok=True)
    for kind, pcollection in zip(
        OUTPUT_KINDS, (outputs.articles, outputs.alerts, outputs.events, outputs.dead_letters), strict=True
    ):
        (
            pcollection
            | f"Window_{kind}" >> beam.WindowInto(FixedWindows(window_seconds))
            | f"Json_{kind}" >> beam.Map(to_json_line)
            | f"Write_{kind}"
            >> fileio.WriteToFiles(
                path=directory,
                file_naming=fileio.default_file_naming(prefix=kind, suffix=".jsonl"),
                shards=1,
            )
        )


def build_stream_pipeline(
    source: KafkaAddress,
    output: KafkaAddress | str,
    config: GraphConfig,
    settings: StreamSettings,
    options: PipelineOptions,
) -> tuple[beam.Pipeline, list[PartitionPlan]]:
    """The job and the partition plans it reads (the progress line follows the same partitions).
    Topics are created here, before the graph is built: the input topic when it does not exist
    yet (by ``plan_partitions``), and the output topics of a kafka:// output."""
    plans = plan_partitions(
        source.bootstrap,
        source.name,
        settings.group,
        settings.start,
        settings.stop_at_end,
        settings.max_records,
    )
    log.info("reading %s from %s", source.name, [(p.partition, p.start, p.stop) for p in plans])
    if isinstance(output, KafkaAddress):
        ensure_output_topics(output)
    pipeline = beam.Pipeline(options=options)
    read = pipeline | "ReadKafka" >> ReadFromKafka(
        source.bootstrap,
        plans,
        idle_seconds=settings.idle_seconds,
        max_bytes=config.max_article_bytes,
        commit_group=settings.group if isinstance(output, KafkaAddress) else None,
    )
    outputs = build_graph(read.records, read.dead_letters, config)
    if isinstance(output, KafkaAddress):
        (
            (outputs.results, outputs.lost)
            | "ToSink" >> beam.Flatten()
            | "WriteKafka" >> WriteToKafka(output, commit_to=(source.bootstrap, settings.group), plans=plans)
        )
    else:
        attach_windowed_file_sinks(outputs, output, settings.window_seconds)
    return pipeline, plans


# Loggers that say nothing an operator can act on at their default level: kafka-python logs every
# reconnect attempt and batch split (marsad reports broker trouble in one line of its own), Beam
# logs how it starts Prism, and the SDK worker warns about state fetches that Prism makes cheap.
NOISY_LOGGERS = {
    "kafka": logging.CRITICAL,
    "apache_beam.utils.subprocess_server": logging.ERROR,
    "apache_beam.runners.portability": logging.ERROR,
    "apache_beam.runners.worker.sdk_worker": logging.ERROR,
    "apache_beam.transforms.core": logging.ERROR,
    "PrismRunner": logging.ERROR,
}


class _DropUselessWarnings(logging.Filter):
    """Beam's notice that Google Cloud clients are missing, as it reaches the root's handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def quiet_logging(verbose: bool = False) -> None:
    """Only what an operator can act on, unless ``--verbose``."""
    if verbose:
        return
    for name, level in NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropUselessWarnings())


def _silence_shutdown_noise() -> None:
    """Cancelling tears down the worker's gRPC streams and Kafka clients under running bundles;
    what they print then (``KafkaConsumer is closed``, ``Bundle Failed``, stream resets) is the
    stop itself, not a fault."""
    logging.disable(logging.CRITICAL)
    threading.excepthook = lambda _args: None
    # The SDK worker also prints a failed instruction's traceback to sys.stderr directly; marsad's
    # own last lines go to sys.__stderr__.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process


def run_until_stopped(
    pipeline: beam.Pipeline, progress: ProgressReporter | None = None
) -> tuple[PipelineResult, str | None]:
    """Run; SIGINT or SIGTERM cancels the job quietly (offsets already committed stay committed).
    Returns the result and the signal that stopped it, if one did."""
    result = pipeline.run()
    stopped_by = None

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, _stop)
    if progress is not None:
        progress.start()
    try:
        while True:
            try:
                result.wait_until_finish()
                break
            except KeyboardInterrupt:
                raise
            except Exception as error:  # the monitoring stream dropped; the job may still run
                if PipelineState.is_terminal(result.state):
                    raise
                log.warning("lost the job's state stream (%s); still running, polling", type(error).__name__)
                while not PipelineState.is_terminal(result.state):
                    time.sleep(5)
                break
    except KeyboardInterrupt as reason:
        stopped_by = str(reason) or "SIGINT"
        print(f"marsad: stopping the job ({stopped_by})", file=sys.stderr, flush=True)
        _silence_shutdown_noise()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the stop
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with contextlib.suppress(Exception):
            result.cancel()
    finally:
        if progress is not None:
            progress.stop()
        if stopped_by is None:
            signal.signal(signal.SIGTERM, previous)
    return result, stopped_by


@dataclass(frozen=True)
class StreamEnd:
    """How a stream job ended: its result, the signal that cancelled it (Prism) or the savepoint
    it left (Flink on a session cluster)."""

    result: PipelineResult
    stopped_by: str | None = None
    savepoint: str | None = None
    end_of_input: bool = False  # a backfill on Flink, stopped once everything was written


def run_stream(
    pipeline: beam.Pipeline,
    plans: list[PartitionPlan],
    source: KafkaAddress,
    output: KafkaAddress | str,
    settings: StreamSettings,
    options: PipelineOptions,
    flink_master: str | None = None,
) -> StreamEnd:
    """Run until the job ends or is stopped. On Flink (``flink_master``) a stop takes a savepoint;
    elsewhere the job is cancelled, and a progress line follows ``plans`` while it runs."""
    if flink_master is not None:
        job_name = options.view_as(GoogleCloudOptions).job_name  # the user's --job_name, if given, wins
        # A backfill ends once everything it was to read is written: Flink would keep it RUNNING
        # (run_on_flink_until_stopped). With file outputs nothing is committed to tell.
        bounded = settings.stop_at_end or settings.max_records is not None
        written = WrittenToStops(source.bootstrap, settings.group, plans)
        finished = written if bounded and isinstance(output, KafkaAddress) else None
        try:
            stopped = run_on_flink_until_stopped(pipeline, flink_master, job_name, finished=finished)
        finally:
            written.close()
        return StreamEnd(stopped.result, savepoint=stopped.savepoint, end_of_input=stopped.end_of_input)
    progress = ProgressReporter(
        source.bootstrap,
        settings.group,
        plans,
        settings.progress_seconds,
        commits=isinstance(output, KafkaAddress),
    )
    result, stopped_by = run_until_stopped(pipeline, progress)
    return StreamEnd(result, stopped_by=stopped_by)
