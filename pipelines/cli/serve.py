"""``marsad serve``: the report page, live on localhost, while a job runs."""

from __future__ import annotations

import argparse
import contextlib

from pipelines.cli.options import Subparsers, usage_error
from pipelines.settings import DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT


def add_parser(subparsers: Subparsers) -> None:
    """The ``serve`` parser."""
    serve = subparsers.add_parser("serve", help="serve the report page live on localhost while a job runs")
    serve.add_argument(
        "--input",
        required=True,
        metavar="SOURCE",
        help="kafka://HOST:PORT/PREFIX (topics PREFIX.alerts, .articles, .events, .deadletter) or an output folder",
    )
    serve.add_argument(
        "--host", default=DEFAULT_SERVE_HOST, help=f"address to listen on (default: {DEFAULT_SERVE_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_SERVE_PORT, help=f"port to listen on (default: {DEFAULT_SERVE_PORT})"
    )
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.set_defaults(handler=handle)


def handle(args: argparse.Namespace, _extra: list[str]) -> int:
    """Serve until Ctrl-C or SIGTERM; exit 2 when the source cannot be read or the port is taken."""
    import signal
    import sys
    import threading

    from pipelines.report.serve import LOCAL_NAMES, LiveReport
    from pipelines.report.sources import ReportSourceError

    try:
        live = LiveReport(args.input, args.host, args.port)
    except (ReportSourceError, OSError) as error:
        return usage_error(str(error))
    if args.host not in LOCAL_NAMES:
        print(
            f"marsad: warning: serving on {args.host}, reachable from other machines, with no authentication:"
            " anyone who can reach the port reads the data (put it behind a proxy that authenticates)",
            file=sys.stderr,
            flush=True,
        )
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
