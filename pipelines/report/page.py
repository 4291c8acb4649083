"""The report page: one HTML file with its styles, scripts (Chart.js, vendored) and data inline.

The page is hostile-input safe by construction: the inline data is JSON escaped for the HTML
script-data state (no ``<``, ``>`` or ``&`` survive, so no string can end or re-enter a script
element), and a Content-Security-Policy allows only the page's own inline blocks, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pipelines.report.sources import load_output_dir

REPORT_FILE = "report.html"

# In script data, "<!--" followed by "<script" switches the HTML parser into the script-data-escaped
# states, where "</script>" no longer ends the element and the rest of the page becomes data. With
# "<", ">" and "&" as \u escapes no string can reach those states; U+2028/2029 are escaped so that
# the text also stays a valid JavaScript string literal if ever evaluated as one.
_SCRIPT_DATA_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _asset(name: str) -> str:
    return resources.files("pipelines.report").joinpath("assets", name).read_text(encoding="utf-8")


def inline_json(value: Any) -> str:
    """``value`` as JSON that can sit inside ``<script type="application/json">`` whatever its strings
    hold; ``JSON.parse`` of the element's text gives ``value`` back exactly."""
    # The escaped characters occur only inside JSON strings, where \\uXXXX means the same character.
    return orjson.dumps(value).decode("utf-8").translate(_SCRIPT_DATA_ESCAPES)


def _sha256_source(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def content_security_policy(scripts: list[str], styles: list[str], live: bool = False) -> str:
    """A strict policy: nothing loads from anywhere, only the given inline blocks run (by hash), and
    the live page may fetch its own ``/api/updates``."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_sha256_source(s) for s in scripts),
            "style-src " + " ".join(_sha256_source(s) for s in styles),
            "img-src data:",
            "connect-src 'self'" if live else "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def render_page_with_policy(snapshot: dict[str, Any], title: str, live: bool = False) -> tuple[str, str]:
    """The whole page and its Content-Security-Policy (also in the page's ``<meta>``).

    ``live``: it polls ``/api/updates`` for alerts and revisions as they come."""
    config = {
        "title": title,
        "live": live,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    css = _asset("report.css")
    chart_js = _asset("chart.umd.min.js").replace("</script", "<\\/script")
    app_js = _asset("report.js")
    policy = content_security_policy([chart_js, app_js], [css], live)
    parts = {
        "@@TITLE@@": html.escape(title),
        "@@CSP@@": html.escape(policy),
        "@@CSS@@": css,
        "@@CHART_JS@@": chart_js,
        "@@APP_JS@@": app_js,
        "@@CONFIG@@": inline_json(config),
        "@@DATA@@": inline_json(snapshot),
    }
    # One pass over the template: a value (Arabic text, a script) is never searched for markers.
    page = re.sub(r"@@[A-Z_]+@@", lambda marker: parts[marker.group(0)], _asset("report.html"))
    return page, policy


def render_page(snapshot: dict[str, Any], title: str, live: bool = False) -> str:
    """The whole page. ``live``: it polls ``/api/updates`` for alerts and revisions as they come."""
    return render_page_with_policy(snapshot, title, live)[0]


def write_report(output_dir: str | Path, destination: str | Path | None = None) -> Path:
    """Reads a run's outputs and writes ``OUTPUT_DIR/report.html`` (or ``destination``)."""
    model, _ = load_output_dir(output_dir)
    target = Path(destination) if destination else Path(output_dir) / REPORT_FILE
    page = render_page(model.snapshot(), title=f"marsad — {Path(output_dir).resolve().name}")
    target.write_text(page, encoding="utf-8")
    return target
