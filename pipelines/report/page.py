"""The report page: one HTML file with its styles, scripts (Chart.js, vendored) and data inline."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pipelines.report.sources import load_output_dir

REPORT_FILE = "report.html"


def _asset(name: str) -> str:
    return resources.files("pipelines.report").joinpath("assets", name).read_text(encoding="utf-8")


def _inline_json(value: Any) -> str:
    # "</" would end the <script> element early; "<\/" is the same string to JSON.
    return orjson.dumps(value).decode("utf-8").replace("</", "<\\/")


def render_page(snapshot: dict[str, Any], title: str, live: bool = False) -> str:
    """The whole page. ``live``: it polls ``/api/updates`` for alerts and revisions as they come."""
    config = {
        "title": title,
        "live": live,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    parts = {
        "@@TITLE@@": html.escape(title),
        "@@CSS@@": _asset("report.css"),
        "@@CHART_JS@@": _asset("chart.umd.min.js").replace("</script", "<\\/script"),
        "@@APP_JS@@": _asset("report.js"),
        "@@CONFIG@@": _inline_json(config),
        "@@DATA@@": _inline_json(snapshot),
    }
    # One pass over the template: a value (Arabic text, a script) is never searched for markers.
    return re.sub(r"@@[A-Z_]+@@", lambda marker: parts[marker.group(0)], _asset("report.html"))


def write_report(output_dir: str | Path, destination: str | Path | None = None) -> Path:
    """Reads a run's outputs and writes ``OUTPUT_DIR/report.html`` (or ``destination``)."""
    model, _ = load_output_dir(output_dir)
    target = Path(destination) if destination else Path(output_dir) / REPORT_FILE
    page = render_page(model.snapshot(), title=f"marsad — {Path(output_dir).resolve().name}")
    target.write_text(page, encoding="utf-8")
    return target
