"""``marsad report``: one self-contained HTML page of a run's outputs."""

from __future__ import annotations

import argparse

from pipelines.cli.options import Subparsers, usage_error


def add_parser(subparsers: Subparsers) -> None:
    """The ``report`` parser."""
    report = subparsers.add_parser("report", help="write one self-contained HTML page of a run's outputs")
    report.add_argument("output_dir", metavar="OUTPUT_DIR", help="a `marsad run` output folder")
    report.add_argument("--to", metavar="FILE", help="where to write the page (default: OUTPUT_DIR/report.html)")
    report.add_argument("--open", action="store_true", help="open the page in a browser")
    report.set_defaults(handler=handle)


def handle(args: argparse.Namespace, _extra: list[str]) -> int:
    """Exit 2 when the folder holds no outputs or the page cannot be written."""
    from pipelines.report.page import write_report
    from pipelines.report.sources import ReportSourceError

    try:
        path = write_report(args.output_dir, args.to)
    except (ReportSourceError, OSError) as error:
        return usage_error(str(error))
    print(f"report written to {path}")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0
