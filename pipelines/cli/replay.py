"""``marsad replay``: publish an archive to a Kafka topic with its own timestamps."""

from __future__ import annotations

import argparse

from pipelines.cli.options import Subparsers, add_bootstrap, topic_address, usage_error


def add_parser(subparsers: Subparsers) -> None:
    """The ``replay`` parser."""
    replay = subparsers.add_parser("replay", help="publish an archive to a Kafka topic with its own timestamps")
    replay.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or globs, as for run --input")
    replay.add_argument("--topic", required=True, help="TOPIC, or kafka://HOST:PORT/TOPIC")
    add_bootstrap(replay)
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, metavar="X", help="replay publication-time gaps X times faster")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no waiting (the default)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument(
        "--archive-order",
        action="store_true",
        help="publish in the order of the files instead of publication order (the default)",
    )
    replay.set_defaults(handler=handle)


def handle(args: argparse.Namespace, _extra: list[str]) -> int:
    """Exit 0 when every record was published, 2 when the archive or the topic is unusable."""
    from kafka.errors import KafkaError

    from pipelines.replay import ReplayRefusedError, replay
    from transforms.io.files.reader import InputError

    bootstrap, topic = topic_address(args.topic, args.bootstrap)
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
        return usage_error(str(error))
    except KafkaError as error:
        return usage_error(f"cannot publish to {topic} on {bootstrap}: {type(error).__name__}: {error}")
    except ReplayRefusedError as error:
        return usage_error(f"replay refused: {error}")
    print(
        f"replayed {report.records} records to {topic} on {bootstrap} in {report.seconds:.1f} s"
        f" ({report.without_time} without a publication time, stamped with the time of sending)"
    )
    return 0
