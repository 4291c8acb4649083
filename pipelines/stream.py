"""Kafka in; Kafka topics (or windowed files) out: the streaming mode of the pipeline graph."""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult, PipelineState

from pipelines.graph import GraphConfig, GraphOutputs, build_graph
from transforms.kafka_io import KafkaAddress, ReadFromKafka, WriteToKafka, plan_partitions
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
    read = pipeline | "ReadKafka" >> ReadFromKafka(source.bootstrap, plans, idle_seconds=settings.idle_seconds)
    outputs = build_graph(read.records, read.dead_letters, config)
    if isinstance(output, KafkaAddress):
        (
            (outputs.results, outputs.lost)
            | "ToSink" >> beam.Flatten()
            | "WriteKafka" >> WriteToKafka(output, commit_to=(source.bootstrap, settings.group), plans=plans)
        )
    else:
        attach_windowed_file_sinks(outputs, output, settings.window_seconds)
    return pipeline


def run_until_stopped(pipeline: beam.Pipeline) -> PipelineResult:
    """Run; SIGINT or SIGTERM cancels the job cleanly (offsets already committed stay committed)."""
    result = pipeline.run()

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, _stop)
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
        log.warning("stopping the job (%s)", reason)
        result.cancel()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return result
