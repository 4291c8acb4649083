"""``marsad topics create`` and ``marsad topics lag``: input topics that keep what is replayed into
them, and where a consumer group stands."""

from __future__ import annotations

import argparse

from pipelines.cli.options import EXIT_USAGE, Subparsers, add_bootstrap, topic_address, usage_error
from pipelines.settings import DEFAULT_INPUT_RETENTION_MS, DEFAULT_PARTITIONS


def add_parser(subparsers: Subparsers) -> None:
    """The ``topics`` parser and its two subcommands."""
    topics = subparsers.add_parser("topics", help="work with Kafka topics")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True)
    create = topics_commands.add_parser(
        "create", help="create input topics that keep replayed archives (retention.ms=-1 unless told)"
    )
    create.add_argument("topics", nargs="+", metavar="TOPIC", help="TOPIC or kafka://HOST:PORT/TOPIC")
    add_bootstrap(create)
    create.add_argument(
        "--partitions",
        type=int,
        default=DEFAULT_PARTITIONS,
        help=f"partitions per topic (default: {DEFAULT_PARTITIONS})",
    )
    create.add_argument(
        "--retention-ms",
        type=int,
        default=DEFAULT_INPUT_RETENTION_MS,
        help=f"time retention in ms of record time (default: {DEFAULT_INPUT_RETENTION_MS}, keep;"
        " replayed archives are years old)",
    )
    create.set_defaults(handler=create_topics)
    lag = topics_commands.add_parser("lag", help="a consumer group's committed offsets and lag per partition")
    lag.add_argument("topic", metavar="TOPIC", help="TOPIC or kafka://HOST:PORT/TOPIC")
    lag.add_argument("--group", required=True, help="the consumer group (marsad run --group)")
    add_bootstrap(lag)
    lag.set_defaults(handler=show_lag)


def create_topics(args: argparse.Namespace, _extra: list[str]) -> int:
    """Create what is missing, leave what exists as it is; one line per topic."""
    from kafka.errors import KafkaError

    from transforms.io.kafka.address import KafkaAddress
    from transforms.io.kafka.admin import ensure_topics

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
        return usage_error(f"cannot create topics: {type(error).__name__}: {error}")
    return 0


def show_lag(args: argparse.Namespace, _extra: list[str]) -> int:
    """One line per partition and the total; exit 2 when the topic has no partitions."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from transforms.io.kafka.admin import group_lag, topic_partitions

    bootstrap, topic = topic_address(args.topic, args.bootstrap)
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=args.group, enable_auto_commit=False)
        try:
            lags = group_lag(consumer, topic_partitions(consumer, topic))
            for lag in lags:
                print(f"{lag.key} committed {lag.committed} end {lag.end} lag {lag.lag}")
            print(f"lag {sum(lag.lag for lag in lags)} (group {args.group})")
        finally:
            consumer.close()
    except KafkaError as error:
        return usage_error(f"cannot read offsets: {type(error).__name__}: {error}")
    return 0 if lags else EXIT_USAGE
