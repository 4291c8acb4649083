"""`marsad serve`: the page live, from an output folder and from a stream job's topics on the real broker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from evaluation.browser import free_port, wait_in_page
from evaluation.pytest_plugin import chromium_page
from pipelines.report.serve import LiveReport

from ..conftest import ROOT, SEED_FILE

TIMEOUT = 300


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return orjson.loads(response.read())


def test_serve_a_growing_folder(tmp_path):
    """A stream job writing files per window: the page's updates carry each new alert and revision."""
    live = LiveReport(str(tmp_path), port=free_port())
    live.start()
    try:
        first = get_json(live.url + "api/updates?since=0")
        assert first["alerts"] == []
        with urllib.request.urlopen(live.url, timeout=10) as response:
            assert b'"live":true' in response.read()
        alert = {
            "alert_id": "al-x", "rule_id": "truce", "article_id": "a1", "article_ids": ["a1"], "story_id": "st-1",
            "lang": "ar", "severity": "high", "snippet": "…أعلنت هدنة…", "published": None,
            "detected_at": "2026-01-01T00:00:00+00:00", "mention_count": 1, "revision": 1,
            "matches": [{"term": "هدنة", "text": "هدنة", "field": "body", "start": 6, "end": 10}],
        }  # fmt: skip
        shard = tmp_path / "alerts-window-1.jsonl"
        shard.write_bytes(orjson.dumps(alert) + b"\n")
        update = wait_for(lambda: get_json(live.url + f"api/updates?since={first['version']}"), lambda u: u["alerts"])
        assert [a["alert_id"] for a in update["alerts"]] == ["al-x"]
        with shard.open("ab") as sink:
            sink.write(orjson.dumps({**alert, "revision": 2, "mention_count": 2, "article_ids": ["a1", "a2"]}) + b"\n")
        revised = wait_for(lambda: get_json(live.url + f"api/updates?since={update['version']}"), lambda u: u["alerts"])
        assert [(a["alert_id"], a["revision"], a["mention_count"]) for a in revised["alerts"]] == [("al-x", 2, 2)]
        assert len(get_json(live.url + "api/updates?since=0")["alerts"]) == 1
    finally:
        live.stop()


def wait_for(fetch, ready, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if ready(value):
            return value
        time.sleep(0.3)
    raise AssertionError(f"not ready after {timeout} s: {value}")


def test_serve_a_bad_kafka_address_is_a_clear_error(capsys):
    from pipelines.cli import main

    assert main(["serve", "--input", "kafka://127.0.0.1:1", "--port", str(free_port())]) == 2
    assert "kafka://HOST:PORT/PREFIX" in capsys.readouterr().err


@contextlib.contextmanager
def serve_process(source: str, port: int, log_path: Path) -> Iterator[str]:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "serve", "--input", source, "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for(lambda: _answers(url), bool, timeout=120)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "api/updates?since=0", timeout=5):
            return True
    except OSError:
        return False


def replay_records(records: list[dict], path: Path, topic: str) -> None:
    from evaluation.broker import BOOTSTRAP

    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    command = [sys.executable, "-m", "pipelines.cli", "replay", str(path), "--topic", f"kafka://{BOOTSTRAP}/{topic}",
               "--no-progress"]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)


@pytest.mark.kafka
@pytest.mark.browser
def test_live_page_shows_alerts_and_revisions_as_a_stream_job_makes_them(tmp_path):
    from evaluation.broker import BOOTSTRAP, StreamJob, unique_name
    from evaluation.pytest_plugin import require_broker, require_prism

    require_broker()
    require_prism()
    source, prefix, group = unique_name("news"), unique_name("live"), unique_name("group")
    seed = SEED_FILE.read_text(encoding="utf-8").strip()
    # Published now: news older than the job's watermark would be late, and late articles start new stories.
    now = datetime.now(UTC)
    first = {"id": "live-1", "source": "outlet-a", "url": None, "published": now.isoformat(timespec="seconds"),
             "title": "", "body": seed, "lang": "ar"}  # fmt: skip
    # The same story told by a second outlet (a new lead, a new closing line): a revision of each alert.
    second = {**first, "id": "live-2", "source": "outlet-b", "published": (now + timedelta(minutes=5)).isoformat(),
              "body": "\n".join(seed.split("\n")[1:]) + "\nوأضاف مصدر دبلوماسي أن المشاورات مستمرة."}  # fmt: skip
    job = StreamJob(source, prefix, group, tmp_path / "job.log")
    try:
        with (
            serve_process(f"kafka://{BOOTSTRAP}/{prefix}", free_port(), tmp_path / "serve.log") as url,
            chromium_page() as page,
        ):
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            page.evaluate("window.notReloaded = true")
            assert page.locator("#feed article.alert").count() == 0

            replay_records([first], tmp_path / "first.jsonl", source)
            wait_in_page(
                page,
                "document.querySelectorAll('#feed article.alert').length === 3",
                TIMEOUT,
            )
            assert page.evaluate("window.notReloaded") is True
            ceasefire = page.locator('#feed article[data-rule="ceasefire"]')
            assert ceasefire.locator(".revision").inner_text().startswith("revision 1")
            wait_in_page(
                page,
                "document.querySelector('#feed article[data-rule=\"ceasefire\"] p.snippet mark') !== null",
                60,
            )
            assert "وقف إطلاق النار" in ceasefire.locator("p.snippet mark").all_inner_texts()

            replay_records([second], tmp_path / "second.jsonl", source)
            wait_in_page(
                page,
                "[...document.querySelectorAll('#feed article.alert .revision')]"
                ".every(node => node.textContent.startsWith('revision 2'))",
                TIMEOUT,
            )
            # Revisions replaced their alerts: still one card per (rule, story), now from two outlets.
            assert page.locator("#feed article.alert").count() == 3
            assert page.evaluate("window.notReloaded") is True
            assert "2 mentions" in ceasefire.locator(".mentions").inner_text()
            wait_in_page(
                page,
                "document.querySelector('#feed article[data-rule=\"ceasefire\"] .story-line')"
                ".textContent.includes('2 outlets')",
                60,
            )
            page.screenshot(path=str(tmp_path / "live.png"))
    finally:
        job.stop()
