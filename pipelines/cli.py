"""The ``marsad`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

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
    run.add_argument("--runner", default="DirectRunner", help="Beam runner (default: DirectRunner)")
    run.add_argument("-v", "--verbose", action="store_true", help="log Beam's progress")
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
    options = PipelineOptions([f"--runner={args.runner}", *beam_args])
    try:
        summary = run_files(inputs, args.output, config, options)
    except InputError as error:
        print(f"marsad: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(summary.describe())
    print(f"outputs in {args.output}/ (articles*, alerts*, events*, deadletter*.jsonl, summary.json)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_args = _parser().parse_known_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "run":
        return _run(args, beam_args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
