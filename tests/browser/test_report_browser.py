"""The report page in a real headless Chromium: RTL Arabic, exact highlights, a rule filter, the timeline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evaluation.browser import wait_in_page
from evaluation.pytest_plugin import chromium_page
from pipelines.cli import main

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed-report")
    assert main(["run", "--output", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    return out / "report.html"


def test_report_page_in_chromium(seed_report, tmp_path):
    with chromium_page() as page:
        page.goto(seed_report.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        alerts = page.evaluate("[...window.marsad.state.alerts.values()]")
        assert len(alerts) == 3 == page.locator("#feed article.alert").count()

        # Arabic snippets render right to left: the first letter of a line is to the right of the next.
        snippet = page.locator('article[data-rule="ceasefire"] p.snippet')
        assert snippet.get_attribute("lang") == "ar"
        assert snippet.evaluate("node => getComputedStyle(node).direction") == "rtl"
        first_x, later_x = snippet.evaluate(
            """node => {
                const text = [...node.childNodes].find(n => n.nodeType === 3 && n.textContent.length > 12);
                const x = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
                                   return r.getBoundingClientRect().left; };
                return [x(2), x(10)];
            }"""
        )
        assert first_x > later_x

        # The marks are the alert's matched texts, in order, and they stand out.
        ceasefire = next(a for a in alerts if a["rule_id"] == "ceasefire")
        body_matches = [m["text"] for m in sorted(ceasefire["matches"], key=lambda m: m["start"])][:3]
        marks = snippet.locator("mark")
        assert marks.all_inner_texts() == body_matches
        assert marks.first.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(255, 226, 122)"

        # The timeline stacks alerts per rule; its bars are drawn on the canvas.
        def timeline() -> dict:
            return page.evaluate(
                """() => { const c = window.marsad.charts.timeline;
                   const total = (d) => d.data.reduce((a, b) => a + b, 0);
                   return Object.fromEntries(c.data.datasets.map(d => [d.label, total(d)])); }"""
            )

        assert timeline() == {"ceasefire": 1, "postponement": 1, "truce": 1}
        coloured = page.evaluate(
            """() => { const canvas = document.getElementById('timeline');
               const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
               let n = 0; for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 100) n++;
               return n; }"""
        )
        assert coloured > 500, "the stacked bars are painted"

        # Unticking a rule hides its alert from the feed and the timeline.
        page.locator('#rule-filter label[data-rule="truce"] input').uncheck()
        assert page.locator("#feed article.alert").count() == 2
        assert page.locator('#feed article[data-rule="truce"]').count() == 0
        assert timeline() == {"ceasefire": 1, "postponement": 1}
        assert "showing 2 of 2 (3 in all)" in page.locator("#feed-count").inner_text()
        page.locator('#rule-filter label[data-rule="truce"] input').check()
        assert page.locator("#feed article.alert").count() == 3

        # Clicking an hour's column of the timeline narrows the feed to that hour. The chart resizes
        # itself when the page's layout settles, so the column is found after the last resize.
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        x, y = page.evaluate(
            """() => { const chart = window.marsad.charts.timeline; chart.resize();
               const area = chart.chartArea;
               return [chart.getDatasetMeta(0).data[0].x, (area.top + area.bottom) / 2]; }"""
        )
        page.locator("#timeline").click(position={"x": x, "y": y})
        # Chart.js hands pointer events to its handlers on the next animation frame, so the range
        # is filled in a frame after the click returns: wait for it rather than read at once.
        wait_in_page(page, "document.getElementById('time-from').value !== ''", timeout=5)
        start, end = page.locator("#time-from").input_value(), page.locator("#time-to").input_value()
        assert start.endswith(":00") and end.endswith(":59") and start[:13] == end[:13]
        assert page.locator("#feed article.alert").count() == 3
        page.locator("#time-clear").click()

        # A range of one minute holds the alerts of that whole minute, whatever their seconds.
        minute = ceasefire["time"][:16]
        for field in ("#time-from", "#time-to"):
            page.locator(field).fill(minute)
            page.locator(field).dispatch_event("change")
        assert page.locator('#feed article[data-rule="ceasefire"]').count() == 1
        page.locator("#time-clear").click()

        # An event line opens on the sentence it came from, its trigger marked.
        event = page.locator('article[data-rule="ceasefire"] li.event-line').first
        event.locator("summary").click()
        sentence = event.locator("blockquote.sentence")
        sentence.wait_for(state="visible", timeout=5_000)
        assert sentence.evaluate("node => getComputedStyle(node).direction") == "rtl"
        assert sentence.locator("mark").count() == 1

        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("MARSAD_SCREENSHOT_DIR"):
            shutil.copy(shot, Path(os.environ["MARSAD_SCREENSHOT_DIR"]) / "report-seed.png")
