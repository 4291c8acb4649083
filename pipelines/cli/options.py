"""What several subcommands share: the usage-error exit, the ``--bootstrap`` flag, and topics given
as TOPIC or kafka://HOST:PORT/TOPIC.

Imports nothing heavy: ``marsad --help`` builds every subcommand's parser, and Beam or Kafka
are imported only by the subcommand that runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from pipelines.settings import BOOTSTRAP_ENV, FALLBACK_BOOTSTRAP, default_bootstrap

EXIT_USAGE = 2

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# A subcommand: the parsed arguments and those marsad does not know (Beam's, for `run`) -> exit code.
Handler: TypeAlias = Callable[[argparse.Namespace, list[str]], int]


def usage_error(message: str) -> int:
    """Say what is wrong on stderr, as every subcommand does, and give the exit code for it."""
    print(f"marsad: {message}", file=sys.stderr)
    return EXIT_USAGE


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap``, defaulting to the environment as it is when the parser is built."""
    parser.add_argument(
        "--bootstrap",
        default=default_bootstrap(),
        help=f"Kafka bootstrap servers (default: ${BOOTSTRAP_ENV} or {FALLBACK_BOOTSTRAP})",
    )


def topic_address(topic: str, bootstrap: str) -> tuple[str, str]:
    """(bootstrap servers, topic) from a TOPIC or kafka://HOST:PORT/TOPIC and ``--bootstrap``."""
    from transforms.io.kafka.address import KafkaAddress

    if topic.startswith("kafka://"):
        address = KafkaAddress.parse(topic)
        return address.bootstrap, address.name
    return bootstrap, topic
