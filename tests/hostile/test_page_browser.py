"""Issue 20, failures 1 and 6 in a real Chromium: the probe's page renders its cards, rule ids such as
``constructor`` chart, an RTL override stays inside its source, and no string breaks the data."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import Phase, given, settings

from evaluation.pytest_plugin import chromium_page
from pipelines.cli import main
from pipelines.report.model import ReportModel
from pipelines.report.page import render_page

from ..conftest import SEED_FILE
from .records import alert, article
from .test_page_escaping import hostile_text

pytestmark = pytest.mark.browser

WATCH_POLICY = """window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective));"""


def open_page(page, path: Path) -> None:
    page.add_init_script(WATCH_POLICY)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert page.evaluate("window.violations") == []


def test_the_probe_record_does_not_blank_the_page(tmp_path):
    articles = tmp_path / "in.jsonl"
    seed = SEED_FILE.read_text(encoding="utf-8")
    lines = [
        {"id": "n1", "title": "seed", "body": seed, "published": "2024-05-01T10:00:00Z"},
        {"id": "n2", "title": "t", "body": "b", "published": "<!--<script>"},
    ]
    articles.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    out = tmp_path / "out"
    assert main(["run", "--input", str(articles), "--output", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    with chromium_page() as page:
        open_page(page, out / "report.html")
        assert page.locator("#feed article.alert").count() >= 1
        assert page.evaluate("window.marsad.state.alerts.size") == page.locator("#feed article.alert").count()
        assert page.locator("#summary [data-stat]").count() >= 10


HOSTILE_IDS = ["constructor", "__proto__", "toString", "hasOwnProperty"]


def hostile_page(tmp_path: Path, texts: list[str]) -> tuple[Path, dict]:
    model = ReportModel()
    for number, rule in enumerate(HOSTILE_IDS):
        model.add("alerts", alert(f"al-{number}", rule, f"a{number}", title=texts[number % len(texts)]))
        source = "\u202eevil source" if number == 0 else texts[number % len(texts)]
        model.add("articles", article(f"a{number}", source=source, title=texts[(number + 1) % len(texts)]))
    for number, text in enumerate(texts):
        model.add("deadletter", {"stage": "parse", "reason": text, "origin": {"file": text, "line": number}})
    snapshot = model.snapshot()
    path = tmp_path / "hostile.html"
    path.write_text(render_page(snapshot, "hostile"), encoding="utf-8")
    return path, orjson.loads(orjson.dumps(snapshot))


# One Chromium run, no shrinking (each try starts a browser): the bulk is in test_page_escaping.py.
@settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate])
@given(st_texts=hostile_text.filter(bool).map(lambda t: [t, "<!--<script>", "</script><!--", "\u202e\x00&amp;"]))
def test_hostile_strings_round_trip_and_rule_ids_are_only_data(tmp_path_factory, st_texts):
    path, snapshot = hostile_page(tmp_path_factory.mktemp("hostile"), st_texts)
    with chromium_page() as page:
        open_page(page, path)
        parsed = page.evaluate("JSON.parse(document.getElementById('marsad-data').textContent)")
        assert parsed == snapshot
        assert page.locator("#feed article.alert").count() == len(HOSTILE_IDS)
        labels = page.evaluate("window.marsad.charts.timeline.data.datasets.map(d => d.label)")
        assert sorted(labels) == sorted(HOSTILE_IDS)
        # The override in a source ends with it: the time after it still reads left to right, after it.
        card = page.locator('article[data-rule="constructor"]')
        card.locator("details.story > summary").click()
        source, when = card.locator(".articles-list li bdi").all()[:2]
        assert source.inner_text() == "\u202eevil source"
        assert when.bounding_box()["x"] >= source.bounding_box()["x"] + source.bounding_box()["width"] - 1
