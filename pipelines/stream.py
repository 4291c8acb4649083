"""Kafka in; Kafka topics (or windowed files) out: the streaming mode of the pipeline graph.

Besides building the pipeline, this is what makes a stream job operable: Prism started as a
child that dies with its driver, a progress line with lag and watermark delay, one line when the
broker stops answering (and one when it answers again), and a quiet stop on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult, PipelineState
from kafka import KafkaConsumer, TopicPartition

from pipelines.graph import GraphConfig, GraphOutputs, build_graph
from transforms.kafka_io import (
    LIVE,
    KafkaAddress,
    PartitionPlan,
    ReadFromKafka,
    WriteToKafka,
    plan_partitions,
    retry_commits,
)
from transforms.stages import to_json_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSettings:
    group: str = "marsad"
    start: str = "earliest"
    stop_at_end: bool = False
    max_records: int | None = None
    window_seconds: int = 60
    idle_seconds: float = 5.0
    progress_seconds: float = 30.0


def attach_windowed_file_sinks(outputs: GraphOutputs, directory: str, window_seconds: int) -> None:
    """One set of files per event-time window: ``<kind>-<window>-<shard>.jsonl``."""
    os.makedirs(directory, exist_ok=True)
    for kind, pcollection in (
        ("articles", outputs.articles),
        ("alerts", outputs.alerts),
        ("events", outputs.events),
        ("deadletter", outputs.dead_letters),
    ):
        (
            pcollection
            | f"Window_{kind}" >> beam.WindowInto(beam.window.FixedWindows(window_seconds))
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
) -> beam.Pipeline:
    plans = plan_partitions(
        source.bootstrap,
        source.name,
        settings.group,
        settings.start,
        settings.stop_at_end,
        settings.max_records,
    )
    log.info("reading %s from %s", source.name, [(p.partition, p.start, p.stop) for p in plans])
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
    pipeline.marsad_plans = plans  # type: ignore[attr-defined]  # for the progress line
    return pipeline


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
    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def quiet_logging(verbose: bool = False) -> None:
    if verbose:
        return
    for name, level in NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropUselessWarnings())


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies, even by kill -9 (Linux)."""
    with_pdeathsig = 1  # PR_SET_PDEATHSIG
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the driver's own stop still stops it
        ctypes.CDLL(None, use_errno=True).prctl(with_pdeathsig, signal.SIGKILL, 0, 0, 0)


class PrismProcess:
    """Prism as a job server that lives exactly as long as this process: it gets SIGKILL from the
    kernel when the driver dies, however it dies, and it is in its own session so that a Ctrl-C
    reaches the driver (which cancels the job) and not Prism first."""

    def __init__(self, binary: Path, verbose: bool = False) -> None:
        with socket.socket() as probe:
            probe.bind(("localhost", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"localhost:{self.port}"
        command = [str(binary), "--job_port", str(self.port), "--log_level", "warn", "--log_kind", "text",
                   "--serve_http=false"]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=None if verbose else subprocess.DEVNULL,
            stderr=None if verbose else subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prism exited at start-up with status {self.process.returncode}")
            with socket.socket() as attempt:
                if attempt.connect_ex(("localhost", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Prism did not listen on {self.endpoint} within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _lag(consumer: Any, group_consumer: Any, plans: list[PartitionPlan]) -> dict[str, int]:
    tps = [TopicPartition(p.topic, p.partition) for p in plans]
    ends = consumer.end_offsets(tps, timeout_ms=5000)
    lag = {}
    for tp in tps:
        committed = group_consumer.committed(tp, timeout_ms=5000)
        lag[f"{tp.topic}/{tp.partition}"] = max(0, ends[tp] - (committed or 0))
    return lag


class ProgressReporter:
    """A thread of the driver: every ``every`` seconds one line with articles in/out per second,
    dead letters, alerts, per-partition lag of the group and watermark delay; in between, a
    broker health probe that logs one line when the broker stops answering and one when it is
    back. Counts come from this process's workers (Prism runs them here); Beam metrics carry
    the same counters (``marsad`` namespace) for runners that run workers elsewhere."""

    def __init__(self, bootstrap: str, group: str, plans: list[PartitionPlan], every: float,
                 emit: Callable[[str], None] | None = None, commits: bool = True) -> None:  # fmt: skip
        """``commits``: False when the outputs are files (nothing is committed: no group lag, and
        the counts of what was written are only in the final summary)."""
        self._bootstrap = bootstrap
        self._group = group
        self._commits = commits
        self._plans = plans
        self._every = every
        self._emit = emit or (lambda line: print(line, file=sys.stderr, flush=True))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marsad-progress", daemon=True)
        self._down_since: float | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        consumer = group_consumer = None
        last_counts: dict[str, int] = {}
        last_time = time.monotonic()
        next_line = last_time + self._every
        while not self._stop.wait(min(self._every, 5.0)):
            try:
                if consumer is None:
                    consumer = KafkaConsumer(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
                    group_consumer = KafkaConsumer(
                        bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False,
                        request_timeout_ms=5000,
                    )  # fmt: skip
                lag = _lag(consumer, group_consumer, self._plans)
                retry_commits()
            except Exception as error:
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    self._emit(
                        f"marsad: broker {self._bootstrap} is not answering ({type(error).__name__}); "
                        "the job waits and resumes when it is back"
                    )
                continue
            if self._down_since is not None:
                self._emit(
                    f"marsad: broker {self._bootstrap} answering again after "
                    f"{time.monotonic() - self._down_since:.0f} s"
                )
                self._down_since = None
            now = time.monotonic()
            if now < next_line:
                continue
            counts, delays = LIVE.snapshot()
            elapsed = max(now - last_time, 1e-6)

            def rate(name: str, now_counts: dict[str, int] = counts, before: dict[str, int] = last_counts,
                     seconds: float = elapsed) -> float:  # fmt: skip
                return (now_counts.get(name, 0) - before.get(name, 0)) / seconds

            delay = max(delays.values()) if delays else None
            if self._commits:
                written = (
                    f" out {rate('articles_written') + rate('dead_letters_written'):.1f}/s"
                    f" | read {counts.get('read', 0)} articles {counts.get('articles_written', 0)}"
                    f" dead letters {counts.get('dead_letters_written', 0)} alerts {counts.get('alerts_written', 0)}"
                    f" | lag {sum(lag.values())} (" + " ".join(f"{k}={v}" for k, v in sorted(lag.items())) + ")"
                )
            else:
                written = f" | read {counts.get('read', 0)} (file outputs: no offsets committed)"
            self._emit(
                f"marsad: progress in {rate('read'):.1f}/s{written}"
                + (f" | watermark delay {_duration(delay)}" if delay is not None else "")
            )
            last_counts, last_time, next_line = counts, now, now + self._every
        for client in (consumer, group_consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


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
