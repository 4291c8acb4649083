"""``marsad run``: the pipeline on files (batch) or on a Kafka topic (a stream job until stopped)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TYPE_CHECKING

from pipelines.cli.options import Subparsers, usage_error
from pipelines.settings import (
    DEFAULT_FLINK_MASTER,
    DEFAULT_GROUP,
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PROGRESS_SECONDS,
    DEFAULT_RETENTION_SECONDS,
    DEFAULT_START,
    DEFAULT_WINDOW_SECONDS,
    default_seeds_dir,
)
from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES

if TYPE_CHECKING:  # Beam's import is slow: only when running
    from pipelines.config import GraphConfig


def add_parser(subparsers: Subparsers) -> None:
    """The ``run`` parser: the graph's inputs, the runner, and the stream job's settings."""
    run = subparsers.add_parser("run", help="run the pipeline: articles in; articles, alerts, events, dead letters out")
    run.add_argument(
        "--input",
        nargs="+",
        metavar="PATH",
        help="files, directories or globs (.jsonl, .json, .txt, optionally .gz); default: the seed archive",
    )
    run.add_argument(
        "--output",
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"output directory (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    run.add_argument("--rules", metavar="FILE", help="alert rules (default: seeds/rules/default.yaml)")
    run.add_argument("--triggers", metavar="FILE", help="event triggers (default: seeds/events/triggers.yaml)")
    run.add_argument("--gazetteers", metavar="DIR", help="gazetteer directory (default: seeds/gazetteers)")
    run.add_argument(
        "--retention-hours",
        type=float,
        default=DEFAULT_RETENTION_SECONDS / 3600,
        help=f"how long an article is remembered for deduplication (default: {DEFAULT_RETENTION_SECONDS // 3600})",
    )
    run.add_argument(
        "--max-article-bytes",
        type=int,
        default=DEFAULT_MAX_ARTICLE_BYTES,
        metavar="N",
        help=f"larger inputs become dead letters with reason too_large (default: {DEFAULT_MAX_ARTICLE_BYTES:,})",
    )
    run.add_argument(
        "--events-model",
        choices=("on", "off"),
        default="on",
        help="the main-event step of event extraction (PLOVER context, framing by an earlier accusation, "
        "verdict, threat or investigation); off: the frame-window rules alone (README, Events)",
    )
    run.add_argument(
        "--runner",
        help="Beam runner: flink (Beam's Flink runner, job server from docker/flink), or any Beam runner name"
        " (default: DirectRunner for files, PrismRunner for kafka:// input)",
    )
    run.add_argument(
        "--flink-master",
        default=DEFAULT_FLINK_MASTER,
        metavar="HOST:PORT",
        help="with --runner flink: a session cluster's REST address (e.g. localhost:8081),"
        f" or {DEFAULT_FLINK_MASTER} (default) for a Flink embedded in the job server",
    )
    stream = run.add_argument_group("streaming (with --input kafka://HOST:PORT/TOPIC)")
    stream.add_argument("--group", default=DEFAULT_GROUP, help="consumer group whose offsets are committed")
    stream.add_argument(
        "--start",
        default=DEFAULT_START,
        help="where a group without committed offsets starts: earliest, latest or an ISO-8601 time",
    )
    stream.add_argument("--stop-at-end", action="store_true", help="stop at the end offsets seen at start")
    stream.add_argument("--max-records", type=int, metavar="N", help="stop each partition after N records")
    stream.add_argument(
        "--window-seconds", type=int, default=DEFAULT_WINDOW_SECONDS, help="event-time window of file outputs"
    )
    stream.add_argument(
        "--progress-seconds",
        type=float,
        default=DEFAULT_PROGRESS_SECONDS,
        help=f"how often the progress line is printed (default: {DEFAULT_PROGRESS_SECONDS:g})",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log Beam's progress")
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace, beam_args: list[str]) -> int:
    """Load the rules, triggers and gazetteers first (a bad file is a usage error before any job
    starts), then run on files or on the one kafka:// input. ``beam_args``: Beam's own options."""
    from pipelines.config import CONFIG_ERRORS, GraphConfig

    try:
        config = GraphConfig.load(
            args.rules, args.triggers, args.gazetteers, int(args.retention_hours * 3600), args.max_article_bytes
        )
    except CONFIG_ERRORS as error:
        return usage_error(str(error))
    if getattr(args, "events_model", "on") == "off":
        config = config.without_main_event()
    inputs = args.input or [str(default_seeds_dir() / "archive")]
    if any(path.startswith("kafka://") for path in inputs):
        return _run_stream(args, inputs, config, beam_args)
    return _run_files(args, inputs, config, beam_args)


def _run_files(args: argparse.Namespace, inputs: list[str], config: GraphConfig, beam_args: list[str]) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.batch import run_files
    from pipelines.outputs import OutputError
    from pipelines.runners import RunnerSetupError, choose_runner
    from transforms.io.files.reader import InputError

    try:
        chosen = choose_runner("batch", args.runner, beam_args, flink_master=args.flink_master)
    except RunnerSetupError as error:
        return usage_error(str(error))
    with chosen:
        try:
            summary = run_files(inputs, args.output, config, PipelineOptions(chosen.options))
        except (InputError, OutputError) as error:
            return usage_error(str(error))
        print(summary.describe())
        print(f"outputs in {args.output}/ (articles*, alerts*, events*, deadletter*.jsonl, summary.json)")
    return 0


def _run_stream(args: argparse.Namespace, inputs: list[str], config: GraphConfig, beam_args: list[str]) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions
    from kafka.errors import KafkaError

    from pipelines.batch import summary_from_metrics
    from pipelines.runners import RunnerChoice, choose_runner
    from pipelines.stream import StreamSettings, build_stream_pipeline, quiet_logging, run_stream
    from transforms.io.kafka.address import KafkaAddress, KafkaAddressError

    quiet_logging(args.verbose)
    chosen: RunnerChoice | None = None
    try:
        if len(inputs) != 1:
            raise KafkaAddressError("a kafka:// input is read alone: give one --input")
        source = KafkaAddress.parse(inputs[0])
        output = KafkaAddress.parse(args.output) if args.output.startswith("kafka://") else args.output
        chosen = choose_runner(
            "stream", args.runner, beam_args, flink_master=args.flink_master, group=args.group, verbose=args.verbose
        )
        options = PipelineOptions(chosen.options)
    except (KafkaAddressError, RuntimeError) as error:  # RuntimeError: RunnerSetupError, or Prism did not start
        exit_code = usage_error(str(error))
        if chosen is not None:
            chosen.close()
        return exit_code
    settings = StreamSettings(
        group=args.group,
        start=args.start,
        stop_at_end=args.stop_at_end,
        max_records=args.max_records,
        window_seconds=args.window_seconds,
        progress_seconds=args.progress_seconds,
    )
    stopped_by = None
    with chosen:
        try:
            # Only Flink restores state from checkpoints (see GraphConfig.state_restorable).
            config = dataclasses.replace(config, state_restorable=chosen.flink_master is not None)
            pipeline, plans = build_stream_pipeline(source, output, config, settings, options)
        except (KafkaError, RuntimeError, ValueError) as error:
            return usage_error(f"cannot start reading {inputs[0]}: {type(error).__name__}: {error}")
        print(f"marsad: streaming {inputs[0]} -> {args.output} (group {args.group}); Ctrl-C stops", file=sys.stderr)
        end = run_stream(pipeline, plans, source, output, settings, options, chosen.flink_master)
        stopped_by = end.stopped_by
        if end.end_of_input:
            print(
                "marsad: every partition read to its stop offset and written; job stopped"
                + (f" with savepoint {end.savepoint} (its dedup and story state)" if end.savepoint else ""),
                file=sys.stderr,
            )
        elif end.savepoint:
            print(f"marsad: stopped with savepoint {end.savepoint}", file=sys.stderr)
            print(f"marsad: resume with the same --group and --savepoint_path={end.savepoint}", file=sys.stderr)
        try:
            print(summary_from_metrics(end.result).describe(), flush=True)
        except Exception:  # a cancelled job may have no metrics to give
            print("marsad: no final counts from the runner (the job was cancelled)", file=sys.__stderr__, flush=True)
    if stopped_by is not None:
        print(f"marsad: stopped ({stopped_by}); committed offsets are where a restart resumes", file=sys.__stderr__)
        if sys.__stderr__ is not None:
            sys.__stderr__.flush()
        sys.stdout.flush()
        # Worker threads are still unwinding from the cancel; their exit would only add noise.
        os._exit(0)
    return 0
