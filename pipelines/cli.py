"""The ``marsad`` command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.graph import DEFAULT_RETENTION_SECONDS, GraphConfig
from transforms.articles import InputError, default_seeds_dir
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
        "--runner",
        help="Beam runner (default: DirectRunner for files, PrismRunner for kafka:// input)",
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
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.files import run_files

    try:
        config = GraphConfig.load(args.rules, args.triggers, args.gazetteers, int(args.retention_hours * 3600))
    except (RulesError, TriggerError, GazetteerError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    inputs = args.input or [str(default_seeds_dir() / "archive")]
    if any(path.startswith("kafka://") for path in inputs):
        return _run_stream(args, inputs, config, beam_args)
    options = PipelineOptions([f"--runner={args.runner or 'DirectRunner'}", *beam_args])
    try:
        summary = run_files(inputs, args.output, config, options)
    except InputError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(summary.describe())
    print(f"outputs in {args.output}/ (articles*, alerts*, events*, deadletter*.jsonl, summary.json)")
    return 0


def _run_stream(args: argparse.Namespace, inputs: list[str], config: GraphConfig, beam_args: list[str]) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.files import summary_from_metrics
    from pipelines.runners import RunnerSetupError, streaming_options
    from pipelines.stream import StreamSettings, build_stream_pipeline, run_until_stopped
    from transforms.kafka_io import KafkaAddress, KafkaAddressError

    try:
        if len(inputs) != 1:
            raise KafkaAddressError("a kafka:// input is read alone: give one --input")
        source = KafkaAddress.parse(inputs[0])
        output = KafkaAddress.parse(args.output) if args.output.startswith("kafka://") else args.output
        runner_args = [f"--runner={args.runner}", "--streaming"] if args.runner else streaming_options()
        options = PipelineOptions([*runner_args, *beam_args])
    except (KafkaAddressError, RunnerSetupError) as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    settings = StreamSettings(
        group=args.group,
        start=args.start,
        stop_at_end=args.stop_at_end,
        max_records=args.max_records,
        window_seconds=args.window_seconds,
    )
    from kafka.errors import KafkaError

    try:
        pipeline = build_stream_pipeline(source, output, config, settings, options)
    except (KafkaError, RuntimeError, ValueError) as error:
        print(f"marsad: cannot start reading {inputs[0]}: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"marsad: streaming {inputs[0]} -> {args.output} (group {args.group}); Ctrl-C stops", file=sys.stderr)
    result = run_until_stopped(pipeline)
    try:
        print(summary_from_metrics(result).describe())
    except Exception as error:  # a cancelled job may have no metrics to give
        print(f"marsad: no final counts from the runner ({error})", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from pipelines.replay import replay
    from transforms.kafka_io import KafkaAddress

    bootstrap, topic = args.bootstrap, args.topic
    if topic.startswith("kafka://"):
        address = KafkaAddress.parse(topic)
        bootstrap, topic = address.bootstrap, address.name
    from kafka.errors import KafkaError

    try:
        report = replay(args.paths, bootstrap, topic, speed=args.speed, progress=not args.no_progress)
    except InputError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KafkaError as error:
        print(f"marsad: cannot publish to {topic} on {bootstrap}: {type(error).__name__}: {error}", file=sys.stderr)
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
    if args.command == "run":
        return _run(args, beam_args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "rules":
        return _rules_test(args)
    if args.command == "report":
        return _report(args)
    if args.command == "serve":
        return _serve(args)
    return EXIT_USAGE


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
