"""The ``marsad`` command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from pipelines.graph import DEFAULT_RETENTION_SECONDS, GraphConfig
from transforms.articles import DEFAULT_MAX_ARTICLE_BYTES, InputError, default_seeds_dir
from transforms.events import TriggerError
from transforms.gazetteer import GazetteerError
from transforms.rules import RulesError

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marsad", description="Arabic-first streaming news monitoring.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline: articles in; articles, alerts, events, dead letters out")
    run.add_argument(
        "--input",
        nargs="+",
        metavar="PATH",
        help="files, directories or globs (.jsonl, .json, .txt, optionally .gz); default: the seed archive",
    )
    run.add_argument("--output", default="out", metavar="DIR", help="output directory (default: ./out)")
    run.add_argument("--rules", metavar="FILE", help="alert rules (default: seeds/rules/default.yaml)")
    run.add_argument("--triggers", metavar="FILE", help="event triggers (default: seeds/events/triggers.yaml)")
    run.add_argument("--gazetteers", metavar="DIR", help="gazetteer directory (default: seeds/gazetteers)")
    run.add_argument(
        "--retention-hours",
        type=float,
        default=DEFAULT_RETENTION_SECONDS / 3600,
        help="how long an article is remembered for deduplication (default: 72)",
    )
    run.add_argument(
        "--max-article-bytes",
        type=int,
        default=DEFAULT_MAX_ARTICLE_BYTES,
        metavar="N",
        help=f"larger inputs become dead letters with reason too_large (default: {DEFAULT_MAX_ARTICLE_BYTES:,})",
    )
    run.add_argument(
        "--runner",
        help="Beam runner: flink (Beam's Flink runner, job server from docker/flink), or any Beam runner name"
        " (default: DirectRunner for files, PrismRunner for kafka:// input)",
    )
    run.add_argument(
        "--flink-master",
        default="[local]",
        metavar="HOST:PORT",
        help="with --runner flink: a session cluster's REST address (e.g. localhost:8081), or [local]"
        " (default) for a Flink embedded in the job server",
    )
    stream = run.add_argument_group("streaming (with --input kafka://HOST:PORT/TOPIC)")
    stream.add_argument("--group", default="marsad", help="consumer group whose offsets are committed")
    stream.add_argument(
        "--start",
        default="earliest",
        help="where a group without committed offsets starts: earliest, latest or an ISO-8601 time",
    )
    stream.add_argument("--stop-at-end", action="store_true", help="stop at the end offsets seen at start")
    stream.add_argument("--max-records", type=int, metavar="N", help="stop each partition after N records")
    stream.add_argument("--window-seconds", type=int, default=60, help="event-time window of file outputs")
    stream.add_argument(
        "--progress-seconds", type=float, default=30.0, help="how often the progress line is printed (default: 30)"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log Beam's progress")

    replay = commands.add_parser("replay", help="publish an archive to a Kafka topic with its own timestamps")
    replay.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or globs, as for run --input")
    replay.add_argument("--topic", required=True, help="TOPIC, or kafka://HOST:PORT/TOPIC")
    replay.add_argument(
        "--bootstrap",
        default=os.environ.get("MARSAD_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default: $MARSAD_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
    )
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, metavar="X", help="replay publication-time gaps X times faster")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no waiting (the default)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument(
        "--archive-order",
        action="store_true",
        help="publish in the order of the files instead of publication order (the default)",
    )

    topics = commands.add_parser("topics", help="work with Kafka topics")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True)
    create = topics_commands.add_parser(
        "create", help="create input topics that keep replayed archives (retention.ms=-1 unless told)"
    )
    create.add_argument("topics", nargs="+", metavar="TOPIC", help="TOPIC or kafka://HOST:PORT/TOPIC")
    create.add_argument(
        "--bootstrap",
        default=os.environ.get("MARSAD_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default: $MARSAD_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
    )
    create.add_argument("--partitions", type=int, default=3, help="partitions per topic (default: 3)")
    lag = topics_commands.add_parser("lag", help="a consumer group's committed offsets and lag per partition")
    lag.add_argument("topic", metavar="TOPIC", help="TOPIC or kafka://HOST:PORT/TOPIC")
    lag.add_argument("--group", required=True, help="the consumer group (marsad run --group)")
    lag.add_argument(
        "--bootstrap",
        default=os.environ.get("MARSAD_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default: $MARSAD_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
    )
    create.add_argument(
        "--retention-ms",
        type=int,
        default=-1,
        help="time retention in ms of record time (default: -1, keep; replayed archives are years old)",
    )

    report = commands.add_parser("report", help="write one self-contained HTML page of a run's outputs")
    report.add_argument("output_dir", metavar="OUTPUT_DIR", help="a `marsad run` output folder")
    report.add_argument("--to", metavar="FILE", help="where to write the page (default: OUTPUT_DIR/report.html)")
    report.add_argument("--open", action="store_true", help="open the page in a browser")

    serve = commands.add_parser("serve", help="serve the report page live on localhost while a job runs")
    serve.add_argument(
        "--input",
        required=True,
        metavar="SOURCE",
        help="kafka://HOST:PORT/PREFIX (topics PREFIX.alerts, .articles, .events, .deadletter) or an output folder",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8700, help="port to listen on (default: 8700)")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")

    rules = commands.add_parser("rules", help="work with alert rules")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    rules_test = rules_commands.add_parser("test", help="show which rules fire on a text, and why")
    rules_test.add_argument("rules_file", metavar="RULES", help="a rules file (e.g. seeds/rules/default.yaml)")
    source = rules_test.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to test")
    source.add_argument("--file", help="a text file to test (its whole content is the body)")
    rules_test.add_argument("--title", default="", help="an optional title")
    rules_test.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    # Beam's import is slow: only when running.
    from pipelines.runners import RunnerSetupError

    try:
        config = GraphConfig.load(
            args.rules, args.triggers, args.gazetteers, int(args.retention_hours * 3600), args.max_article_bytes
        )
    except (RulesError, TriggerError, GazetteerError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    inputs = args.input or [str(default_seeds_dir() / "archive")]
    if not _is_flink(args.runner) or any(arg.startswith("--job_endpoint") for arg in beam_args):
        return _run_on(args, inputs, config, beam_args, None)
    from pipelines.runners import FlinkJobServer

    try:
        with FlinkJobServer(args.flink_master) as job_endpoint:
            return _run_on(args, inputs, config, beam_args, job_endpoint)
    except RunnerSetupError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run_on(
    args: argparse.Namespace, inputs: list[str], config: GraphConfig, beam_args: list[str], job_endpoint: str | None
) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.files import run_files
    from pipelines.runners import RunnerSetupError

    if any(path.startswith("kafka://") for path in inputs):
        return _run_stream(args, inputs, config, beam_args, job_endpoint)
    try:
        options = PipelineOptions(_batch_runner_args(args, beam_args, job_endpoint))
    except RunnerSetupError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = run_files(inputs, args.output, config, options)
    except InputError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(summary.describe())
    print(f"outputs in {args.output}/ (articles*, alerts*, events*, deadletter*.jsonl, summary.json)")
    return 0


def _is_flink(runner: str | None) -> bool:
    return runner is not None and runner.lower() in ("flink", "flinkrunner")


def _batch_runner_args(args: argparse.Namespace, beam_args: list[str], job_endpoint: str | None) -> list[str]:
    if _is_flink(args.runner):
        from pipelines.runners import flink_options

        return flink_options(args.flink_master, streaming=False, extra=beam_args, job_endpoint=job_endpoint)
    return [f"--runner={args.runner or 'DirectRunner'}", *beam_args]


def _run_stream(
    args: argparse.Namespace, inputs: list[str], config: GraphConfig, beam_args: list[str], job_endpoint: str | None
) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.files import summary_from_metrics
    from pipelines.runners import (
        RunnerSetupError,
        ensure_prism,
        flink_options,
        run_on_flink_until_stopped,
        streaming_options,
    )
    from pipelines.stream import (
        PrismProcess,
        ProgressReporter,
        StreamSettings,
        build_stream_pipeline,
        quiet_logging,
        run_until_stopped,
    )
    from transforms.kafka_io import KafkaAddress, KafkaAddressError

    quiet_logging(args.verbose)
    prism = None
    flink = _is_flink(args.runner)
    try:
        if len(inputs) != 1:
            raise KafkaAddressError("a kafka:// input is read alone: give one --input")
        source = KafkaAddress.parse(inputs[0])
        output = KafkaAddress.parse(args.output) if args.output.startswith("kafka://") else args.output
        if flink:
            job_name = f"marsad-{args.group}-{uuid.uuid4().hex[:8]}"
            runner_args = flink_options(
                args.flink_master, streaming=True, job_name=job_name, extra=beam_args, job_endpoint=job_endpoint
            )
        else:
            runner_args = [f"--runner={args.runner}", "--streaming"] if args.runner else streaming_options()
            if not args.runner and not any(a.startswith("--job_endpoint") for a in beam_args):
                # Our own Prism, which dies with this process even when it is killed with -9.
                prism = PrismProcess(ensure_prism(), verbose=args.verbose)
                runner_args.append(f"--job_endpoint={prism.endpoint}")
            runner_args += beam_args
        options = PipelineOptions(runner_args)
    except (KafkaAddressError, RunnerSetupError, RuntimeError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        if prism is not None:
            prism.stop()
        return EXIT_USAGE
    settings = StreamSettings(
        group=args.group,
        start=args.start,
        stop_at_end=args.stop_at_end,
        max_records=args.max_records,
        window_seconds=args.window_seconds,
        progress_seconds=args.progress_seconds,
    )
    from kafka.errors import KafkaError

    stopped_by = None
    try:
        try:
            pipeline = build_stream_pipeline(source, output, config, settings, options)
        except (KafkaError, RuntimeError, ValueError) as error:
            print(f"marsad: cannot start reading {inputs[0]}: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_USAGE
        print(f"marsad: streaming {inputs[0]} -> {args.output} (group {args.group}); Ctrl-C stops", file=sys.stderr)
        if flink:
            from apache_beam.options.pipeline_options import GoogleCloudOptions

            job_name = options.view_as(GoogleCloudOptions).job_name  # the user's --job_name, if given, wins
            stopped = run_on_flink_until_stopped(pipeline, args.flink_master, job_name)
            result = stopped.result
            if stopped.savepoint:
                print(f"marsad: stopped with savepoint {stopped.savepoint}", file=sys.stderr)
                print(f"marsad: resume with the same --group and --savepoint_path={stopped.savepoint}", file=sys.stderr)
        else:
            progress = ProgressReporter(
                source.bootstrap,
                args.group,
                pipeline.marsad_plans,
                settings.progress_seconds,
                commits=isinstance(output, KafkaAddress),
            )
            result, stopped_by = run_until_stopped(pipeline, progress)
        try:
            print(summary_from_metrics(result).describe(), flush=True)
        except Exception:  # a cancelled job may have no metrics to give
            print("marsad: no final counts from the runner (the job was cancelled)", file=sys.__stderr__, flush=True)
    finally:
        if prism is not None:
            prism.stop()
    if stopped_by is not None:
        print(f"marsad: stopped ({stopped_by}); committed offsets are where a restart resumes", file=sys.__stderr__)
        sys.__stderr__.flush()
        sys.stdout.flush()
        # Worker threads are still unwinding from the cancel; their exit would only add noise.
        os._exit(0)
    return 0


def _topic_address(args: argparse.Namespace) -> tuple[str, str]:
    """(bootstrap servers, topic) from ``--topic`` (TOPIC or kafka://HOST:PORT/TOPIC) and ``--bootstrap``."""
    from transforms.kafka_io import KafkaAddress

    if args.topic.startswith("kafka://"):
        address = KafkaAddress.parse(args.topic)
        return address.bootstrap, address.name
    return args.bootstrap, args.topic


def _replay(args: argparse.Namespace) -> int:
    from pipelines.replay import ReplayRefusedError, replay

    bootstrap, topic = _topic_address(args)
    from kafka.errors import KafkaError

    try:
        report = replay(
            args.paths,
            bootstrap,
            topic,
            speed=args.speed,
            progress=not args.no_progress,
            in_publication_order=not args.archive_order,
        )
    except InputError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KafkaError as error:
        print(f"marsad: cannot publish to {topic} on {bootstrap}: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ReplayRefusedError as error:
        print(f"marsad: replay refused: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"replayed {report.records} records to {topic} on {bootstrap} in {report.seconds:.1f} s"
        f" ({report.without_time} without a publication time, stamped with the time of sending)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_args = _parser().parse_known_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "verbose", False):
        # kafka-python warns about its own event loop and every reconnect; marsad says what matters.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    if args.command == "run":
        return _run(args, beam_args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "rules":
        return _rules_test(args)
    if args.command == "topics":
        return _topics_create(args) if args.topics_command == "create" else _topics_lag(args)
    if args.command == "report":
        return _report(args)
    if args.command == "serve":
        return _serve(args)
    return EXIT_USAGE


def _topics_create(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from transforms.kafka_io import KafkaAddress, ensure_topics

    by_bootstrap: dict[str, list[str]] = {}
    for name in args.topics:
        if name.startswith("kafka://"):
            address = KafkaAddress.parse(name)
            by_bootstrap.setdefault(address.bootstrap, []).append(address.name)
        else:
            by_bootstrap.setdefault(args.bootstrap, []).append(name)
    try:
        for bootstrap, names in by_bootstrap.items():
            created = ensure_topics(bootstrap, names, args.partitions, {"retention.ms": str(args.retention_ms)})
            for name in names:
                state = f"created (retention.ms={args.retention_ms})" if name in created else "exists, left as it is"
                print(f"{name} on {bootstrap}: {state}")
    except KafkaError as error:
        print(f"marsad: cannot create topics: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _topics_lag(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError


    bootstrap, topic = _topic_address(args)
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=args.group, enable_auto_commit=False)
        try:
            partitions = sorted(consumer.partitions_for_topic(topic) or ())
            tps = [TopicPartition(topic, p) for p in partitions]
            ends = consumer.end_offsets(tps) if tps else {}
            total = 0
            for tp in tps:
                committed = consumer.committed(tp) or 0
                total += ends[tp] - committed
                print(f"{topic}/{tp.partition} committed {committed} end {ends[tp]} lag {ends[tp] - committed}")
            print(f"lag {total} (group {args.group})")
        finally:
            consumer.close()
    except KafkaError as error:
        print(f"marsad: cannot read offsets: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0 if tps else EXIT_USAGE


def _report(args: argparse.Namespace) -> int:
    from pipelines.report.page import write_report
    from pipelines.report.sources import ReportSourceError

    try:
        path = write_report(args.output_dir, args.to)
    except (ReportSourceError, OSError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report written to {path}")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def _serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from pipelines.report.serve import LiveReport
    from pipelines.report.sources import ReportSourceError

    try:
        live = LiveReport(args.input, args.host, args.port)
    except (ReportSourceError, OSError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    live.start()
    print(f"marsad: serving {args.input} at {live.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(live.url)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    live.stop()
    return 0


def _rules_test(args: argparse.Namespace) -> int:
    """Exit 0 when a rule fires, 1 when none does, 2 when the rules file is bad."""
    from pipelines.rules_cli import rules_test

    try:
        text = args.text if args.text is not None else Path(args.file).read_text(encoding="utf-8")
    except OSError as error:
        print(f"marsad: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    colour = {"auto": None, "always": True, "never": False}[args.color]
    try:
        report, fired = rules_test(args.rules_file, text, args.title, colour)
    except RulesError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(report)
    return 0 if fired else 1


if __name__ == "__main__":
    sys.exit(main())
