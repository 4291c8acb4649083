"""How fast the report page is: writing it, and opening it in headless Chromium, against an empty page.

For each `marsad run` output folder given, and for a baseline page with no records at all (the fixed
cost: Chart.js, styles, empty charts) measured in the same run and browser:
- write: reading the outputs and writing report.html (Python), and the file's size;
- ready: navigation start -> the page has parsed its data and drawn the feed, charts and summary;
- filter: unticking one rule (re-filter, re-render the visible feed and the timeline);
- scroll: scrolling to the end of the feed 10 times (each renders the next page of alerts);
- DOM: elements in the page after loading, which stays bounded since only visible alerts are drawn.
Median of --repeat loads, each in a fresh browser page.

    .venv/bin/python benchmarks/report_load.py OUTPUT_DIR [OUTPUT_DIR ...] [--repeat 3] [--screenshot docs/x.png]
        [--copies N]

--copies N adds a page made of N copies of the last output's records (ids, stories and alerts renamed
per copy, so nothing merges): the size of a bigger run's page when there is no time to run one.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from evaluation.browser import CHROMIUM, CHROMIUM_FLAGS
from pipelines.report.model import ReportModel
from pipelines.report.page import render_page, write_report

MEASURE = """async () => {
  const m = window.marsad;
  const first = document.querySelector('#rule-filter input');
  let filter = null;
  if (first) { const t = performance.now(); first.click(); filter = performance.now() - t; first.click(); }
  const t = performance.now();
  for (let i = 0; i < 10; i++) {
    window.scrollTo(0, document.body.scrollHeight);
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  return { ready: m.readyAt, render: m.renderMs, timings: m.timings, filter: filter,
           scroll: performance.now() - t, shown: m.state.shown, alerts: m.state.alerts.size,
           dom: document.getElementsByTagName('*').length };
}"""


def measure(page, path: Path, repeat: int, screenshot: Path | None = None) -> dict:
    runs = []
    for _ in range(repeat):
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        runs.append(page.evaluate(MEASURE))
    if screenshot:
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        page.screenshot(path=str(screenshot))
    median = {key: statistics.median(r[key] for r in runs) for key in ("ready", "render", "scroll", "dom")}
    filters = [r["filter"] for r in runs if r["filter"] is not None]
    median["filter"] = statistics.median(filters) if filters else 0.0
    median["alerts"] = runs[0]["alerts"]
    median["shown"] = runs[0]["shown"]
    return median


def copied_output(output: Path, copies: int, target: Path) -> Path:
    """N renamed copies of a run's records, and a summary that adds up."""
    target.mkdir(parents=True, exist_ok=True)
    for kind in ("articles", "alerts", "events", "deadletter"):
        with (target / f"{kind}-00000-of-00001.jsonl").open("wb") as sink:
            for shard in sorted(output.glob(f"{kind}-*.jsonl")):
                lines = [orjson.loads(line) for line in shard.read_bytes().splitlines() if line.strip()]
                for copy in range(copies):
                    for record in lines:
                        sink.write(orjson.dumps(_renamed(record, f"~{copy}")) + b"\n")
    summary = orjson.loads((output / "summary.json").read_bytes())
    scaled = {k: v * copies if isinstance(v, int) and not isinstance(v, bool) else v for k, v in summary.items()}
    (target / "summary.json").write_bytes(orjson.dumps(scaled))
    return target


def _renamed(record: dict, suffix: str) -> dict:
    """Article, story, alert and event ids get the copy's suffix; gazetteer ids stay shared."""
    record = dict(record)
    for key in ("id", "article_id", "story_id", "alert_id", "event_id"):
        if isinstance(record.get(key), str):
            record[key] += suffix
    if "article_ids" in record:
        record["article_ids"] = [a + suffix for a in record["article_ids"]]
    if isinstance(record.get("dedup"), dict):
        dedup = dict(record["dedup"])
        for key in ("story_id", "duplicate_of"):
            if isinstance(dedup.get(key), str):
                dedup[key] += suffix
        record["dedup"] = dedup
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="a screenshot of the last output's page")
    parser.add_argument("--copies", type=int, default=0, help="also a page of N copies of the last output")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch) / "empty.html"
        baseline.write_text(render_page(ReportModel().snapshot(), "empty"), encoding="utf-8")
        pages = [("baseline: no records", baseline, 0.0, 0)]
        outputs = list(args.outputs)
        if args.copies:
            outputs.append(copied_output(outputs[-1], args.copies, Path(scratch) / f"{outputs[-1].name}x{args.copies}"))
        for output in outputs:
            started = time.perf_counter()
            target = write_report(output, Path(scratch) / f"{output.name}.html")
            summary = orjson.loads((output / "summary.json").read_bytes())
            label = f"{output.name}: {summary['read']} articles, {summary['alerts']} alerts, {summary['events']} events"
            pages.append((label, target, time.perf_counter() - started, summary["read"]))
        print(f"Chromium {CHROMIUM}, median of {args.repeat} loads")
        print(
            f"{'page':<62} {'write s':>8} {'MB':>6} {'ready ms':>9} {'JS ms':>7} {'filter':>7} {'scroll':>7} {'DOM':>6}"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for index, (label, path, write_seconds, _) in enumerate(pages):
                shot = args.screenshot if index == len(pages) - 1 else None
                m = measure(page, path, args.repeat, shot)
                size = path.stat().st_size / 1e6
                print(
                    f"{label:<62} {write_seconds:>8.2f} {size:>6.1f} {m['ready']:>9.0f} {m['render']:>7.0f}"
                    f" {m['filter']:>7.0f} {m['scroll']:>7.0f} {m['dom']:>6.0f}"
                )
            browser.close()


if __name__ == "__main__":
    main()
