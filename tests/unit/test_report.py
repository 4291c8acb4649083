"""`marsad report`: the page's data checked against the run's own outputs (seed archive, corpus sample)."""

from __future__ import annotations

import gzip
import itertools
import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from pipelines.cli import main
from pipelines.report.model import MAX_MATCH_WINDOWS, ReportModel, fallback_segments, snippet_segments
from pipelines.report.sources import FolderFollower

from ..conftest import read_jsonl

CORPUS_SAMPLE_SIZE = 600


def page_data(html: str) -> dict:
    found = re.search(r'<script id="marsad-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries its data inline"
    return orjson.loads(found.group(1))


def latest_revisions(alerts: list[dict]) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for alert in alerts:
        if alert["alert_id"] not in latest or alert["revision"] > latest[alert["alert_id"]]["revision"]:
            latest[alert["alert_id"]] = alert
    return latest


def marked(segments: list[list]) -> list[str]:
    return [text for text, is_mark in segments if is_mark]


def check_report(output_dir: Path) -> dict:
    """What every report must satisfy, whatever the run: returns the page's data for more checks."""
    assert main(["report", str(output_dir)]) == 0
    html = (output_dir / "report.html").read_text(encoding="utf-8")
    # Self-contained: nothing is fetched at view time.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "Chart.js v4" in html and "Released under the MIT License" in html
    data = page_data(html)

    articles = {a["id"]: a for a in read_jsonl(output_dir, "articles")}
    alerts = read_jsonl(output_dir, "alerts")
    latest = latest_revisions(alerts)
    summary = orjson.loads((output_dir / "summary.json").read_bytes())
    entries = data["alerts"]

    # Every alert once per (rule, story), as its latest revision, with the count of revisions read.
    assert sorted(e["alert_id"] for e in entries) == sorted(latest)
    assert len({(e["rule_id"], e["story_id"]) for e in entries}) == len(entries)
    revisions = Counter(a["alert_id"] for a in alerts)
    for entry in entries:
        alert = latest[entry["alert_id"]]
        assert entry["revision"] == alert["revision"]
        assert entry["mention_count"] == alert["mention_count"]
        assert entry["revisions_seen"] == revisions[entry["alert_id"]]
        assert entry["outlets"] == sorted({articles[a]["source"] or "unknown" for a in alert["article_ids"]})
        # The highlight is exactly the alert's matched text, at its offsets into the original field.
        assert entry["exact"], "the alert's article is in the outputs"
        article = articles[alert["article_id"]]
        title_matches = [m for m in alert["matches"] if m["field"] == "title"]
        body_matches = [m for m in alert["matches"] if m["field"] == "body"][:MAX_MATCH_WINDOWS]
        for field, matches in (("title", title_matches), ("body", body_matches)):
            expected = [m["text"] for m in sorted(matches, key=lambda m: m["start"])]
            assert expected == [
                article[field][m["start"] : m["end"]] for m in sorted(matches, key=lambda m: m["start"])
            ]
            assert marked(entry["segments"].get(field, [])) == expected
        story = data["stories"][entry["story_id"]]
        members = [a for a in articles.values() if a["dedup"]["story_id"] == entry["story_id"]]
        assert story["article_count"] == len(members)
        assert sum(o["count"] for o in story["outlets"]) == len(members)

    # Counts equal the run's summary, and the records the page read add up to it too.
    shown = data["summary"]
    for key in ("read", "unique", "duplicate", "near_duplicate", "dead_letters", "alerts", "events", "stories"):
        assert shown[key] == summary[key], key
    assert shown["reconciled"] is True
    observed = shown["observed"]
    for key in ("read", "unique", "duplicate", "near_duplicate", "dead_letters", "alerts", "alert_revisions", "events"):
        assert observed[key] == summary[key], key
    dead = read_jsonl(output_dir, "deadletter")
    assert sum(d["count"] for d in data["dead_letters"]) == len(dead)
    return data


def test_seed_report(tmp_path):
    assert main(["run", "--output", str(tmp_path)]) == 0
    data = check_report(tmp_path)
    assert {e["rule_id"] for e in data["alerts"]} == {"ceasefire", "truce", "postponement"}
    ceasefire = next(e for e in data["alerts"] if e["rule_id"] == "ceasefire")
    assert ceasefire["lang"] == "ar"
    assert "وقف إطلاق النار" in marked(ceasefire["segments"]["body"])
    story = data["stories"][ceasefire["story_id"]]
    events = read_jsonl(tmp_path, "events")
    assert story["event_count"] == len(events)
    line = story["events"][0]
    event = next(e for e in events if e["event_id"] == line["event_id"])
    assert line["sentence"] == event["sentence"]["text"]
    start, end = line["trigger"]
    assert line["sentence"][start:end] == event["trigger"]["text"]
    assert {p["id"] for p in data["places"]} >= {"SYR", "GVA"}


def test_report_of_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not a folder of marsad outputs" in capsys.readouterr().err


@pytest.mark.corpus
def test_corpus_sample_report(corpus_path, tmp_path):
    sample = tmp_path / "sample.jsonl"
    # Consecutive articles, so that outlets cover the same stories and alerts get revisions.
    with gzip.open(corpus_path, "rb") as source, sample.open("wb") as sink:
        sink.writelines(itertools.islice(source, 6000, 6000 + CORPUS_SAMPLE_SIZE))
    with sample.open("ab") as sink:
        sink.write(b'{"id": "broken", "body": \n')  # a dead letter the page must show by reason
    out = tmp_path / "out"
    assert main(["run", "--input", str(sample), "--output", str(out)]) == 0
    data = check_report(out)
    assert len(data["alerts"]) >= 5
    assert data["summary"]["dead_letters"] == 1 and data["dead_letters"][0]["stage"] in ("read", "parse")
    assert len(data["places"]) > 3 and len(data["actors"]) > 3


# --- the model alone --------------------------------------------------------------------------

TEXT = "قال المتحدث إن وقف إطلاق النار صامد، وإن الهدنة في حلب ممددة حتى الأسبوع المقبل في كل المناطق."


def span(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def test_snippet_marks_exactly_the_spans():
    spans = [span(TEXT, "وقف إطلاق النار"), span(TEXT, "الهدنة")]
    segments = snippet_segments(TEXT, spans, context=10)
    assert marked(segments) == ["وقف إطلاق النار", "الهدنة"]
    # Windows start and end on word boundaries, and say when they cut the text.
    assert segments[0] == ["…", False] and segments[-1] == ["…", False]
    assert "".join(t for t, _ in segments[1:-1]) in TEXT


def test_snippet_of_distant_spans_is_two_windows():
    text = "هدنة " + "كلام " * 100 + "هدنة"
    segments = snippet_segments(text, [(0, 4), (len(text) - 4, len(text))], context=10)
    assert marked(segments) == ["هدنة", "هدنة"]
    assert [t for t, _ in segments].count("…") == 1


def test_overlapping_spans_are_one_mark():
    ceasefire, fire = span(TEXT, "وقف إطلاق النار"), span(TEXT, "إطلاق النار")
    assert marked(snippet_segments(TEXT, [fire, ceasefire])) == ["وقف إطلاق النار"]


def test_fallback_marks_matched_words_in_the_snippet():
    assert fallback_segments("…قال إن الهدنة صامدة…", ["الهدنة"]) == [
        ["…قال إن ", False],
        ["الهدنة", True],
        [" صامدة…", False],
    ]


def alert(revision: int, article_ids: list[str]) -> dict:
    return {
        "alert_id": "al-1",
        "rule_id": "truce",
        "article_id": article_ids[0],
        "article_ids": article_ids,
        "story_id": "st-1",
        "lang": "ar",
        "severity": "high",
        "matches": [
            {
                "term": "هدنة",
                "text": "الهدنة",
                "field": "body",
                "start": TEXT.index("الهدنة"),
                "end": TEXT.index("الهدنة") + 6,
            }
        ],
        "snippet": "…وإن الهدنة في حلب…",
        "published": "2018-02-18T21:35:43+04:00",
        "detected_at": "2026-01-01T00:00:00+00:00",
        "mention_count": len(article_ids),
        "revision": revision,
    }


def article(article_id: str, source: str) -> dict:
    return {"id": article_id, "source": source, "title": "", "body": TEXT, "lang": "ar", "published": None,
            "url": None, "dedup": {"status": "unique", "duplicate_of": None, "story_id": "st-1"}}  # fmt: skip


def test_revisions_replace_their_alert_and_late_ones_are_ignored():
    model = ReportModel()
    model.add_alert(alert(2, ["a1", "a2"]))
    model.add_alert(alert(1, ["a1"]))  # late, out of order
    (entry,) = model.snapshot()["alerts"]
    assert entry["revision"] == 2 and entry["mention_count"] == 2 and entry["revisions_seen"] == 2


def test_an_alert_before_its_article_is_marked_from_its_snippet_then_exactly():
    model = ReportModel()
    model.add_alert(alert(1, ["a1"]))
    first = model.snapshot()
    (entry,) = first["alerts"]
    assert not entry["exact"] and marked(entry["segments"]["body"]) == ["الهدنة"]
    model.add_article(article("a1", "aljazeera"))
    model.add_article(article("a2", "alarabiya"))
    delta = model.snapshot(first["version"])
    (entry,) = delta["alerts"]
    assert entry["exact"] and entry["outlets"] == ["aljazeera"]
    assert delta["stories"]["st-1"]["article_count"] == 2
    assert model.snapshot(delta["version"])["alerts"] == []


def test_folder_follower_reads_only_whole_new_lines(tmp_path):
    model = ReportModel()
    follower = FolderFollower(tmp_path, model)
    shard = tmp_path / "alerts-00000-of-00001.jsonl"
    line = orjson.dumps(alert(1, ["a1"]))
    shard.write_bytes(line[:20])
    assert follower.poll() == 0
    shard.write_bytes(line + b"\n" + b"not json\n")
    assert follower.poll() == 1 and follower.bad_lines == 1
    assert follower.poll() == 0
    assert [e["alert_id"] for e in model.snapshot()["alerts"]] == ["al-1"]


def test_text_that_closes_a_script_element_stays_data():
    from pipelines.report.page import render_page

    model = ReportModel()
    hostile = "</script><script>document.title='x'</script>"
    model.add_article({**article("a1", "aljazeera"), "title": hostile})
    model.add_alert(alert(1, ["a1"]))
    html = render_page(model.snapshot(), "t")
    assert html.count("</script>") == 4  # config, data, Chart.js, the page's script
    (entry,) = page_data(html)["alerts"]
    assert entry["article_title"] == hostile
