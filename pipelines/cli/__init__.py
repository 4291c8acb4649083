"""The ``marsad`` command: one parser, one thin module per subcommand.

Each subcommand module has ``add_parser(subparsers)``, which adds its parser and sets its
``handler(args, extra) -> exit code``; ``extra`` holds the arguments marsad does not know, which
``run`` hands to Beam as pipeline options and the others ignore.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from pipelines.cli import replay, report, rules, run, serve, topics

SUBCOMMANDS = (run, replay, topics, report, serve, rules)  # in the order of --help


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, for ``main`` and for tests that inspect it."""
    parser = argparse.ArgumentParser(prog="marsad", description="Arabic-first streaming news monitoring.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's entry point (pyproject: ``marsad = "pipelines.cli:main"``)."""
    args, extra = build_parser().parse_known_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "verbose", False):
        # kafka-python warns about its own event loop and every reconnect; marsad says what matters.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    exit_code: int = args.handler(args, extra)
    return exit_code
