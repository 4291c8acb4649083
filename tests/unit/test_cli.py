"""`marsad run` as a user runs it: golden outputs on the seed archive, bad input, bad rules."""

import os

import orjson
import pytest

from pipelines.cli import main

from ..conftest import ROOT, read_jsonl

GOLDEN = ROOT / "tests" / "golden" / "seed"
# Fields that legitimately differ between runs.
VOLATILE = {"detected_at"}


def stable(records: list[dict]) -> list[dict]:
    cleaned = [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]
    return sorted(cleaned, key=lambda r: orjson.dumps(r, option=orjson.OPT_SORT_KEYS))


def as_lines(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in records)


def test_seed_archive_matches_golden_outputs(tmp_path, capsys):
    """Regenerate after a deliberate change with MARSAD_UPDATE_GOLDEN=1, then read the diff."""
    assert main(["run", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "articles read   1" in out and "reconciled" in out
    for kind in ("articles", "alerts", "events", "deadletter"):
        actual = as_lines(stable(read_jsonl(tmp_path, kind)))
        golden = GOLDEN / f"{kind}.jsonl"
        if os.environ.get("MARSAD_UPDATE_GOLDEN"):
            golden.write_bytes(actual)
        assert actual == golden.read_bytes(), f"{kind} differ from {golden}"
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary == {
        "read": 1,
        "unique": 1,
        "duplicate": 0,
        "near_duplicate": 0,
        "dead_letters": 0,
        "stage_errors": 0,
        "alerts": 3,
        "events": summary["events"],
        "reconciled": True,
        "stories": 1,
        "alert_revisions": 3,
        "state_bytes_per_article": summary["state_bytes_per_article"],
        # The run's manifest: what the next run replaces and `marsad report` reads.
        "files": [f"{kind}-00000-of-00001.jsonl" for kind in ("alerts", "articles", "deadletter", "events")],
    }
    assert 500 < summary["state_bytes_per_article"] < 4000  # signatures and the shingle hashes of one long article


def test_malformed_line_is_a_dead_letter_and_the_run_says_so(tmp_path, capsys, seed_text):
    source = tmp_path / "in.jsonl"
    good = [orjson.dumps({"id": f"a{i}", "title": "", "body": f"{seed_text} {i}", "lang": "ar"}) for i in range(3)]
    source.write_bytes(b"\n".join([good[0], b"{oops", good[1], good[2]]) + b"\n")
    out_dir = tmp_path / "out"
    assert main(["run", "--input", str(source), "--output", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "dead letters  1" in printed and "articles read   4" in printed and "(reconciled" in printed
    (dead,) = read_jsonl(out_dir, "deadletter")
    assert dead["origin"] == {"file": str(source), "line": 2} and dead["raw"] == "{oops"
    articles = {a["id"]: a["dedup"] for a in read_jsonl(out_dir, "articles")}
    assert sorted(articles) == ["a0", "a1", "a2"]
    # a1 and a2 reprint a0 (one character added): one story, so one alert per rule, revised twice.
    assert [articles[i]["status"] for i in ("a0", "a1", "a2")] == ["unique", "near_duplicate", "near_duplicate"]
    assert len({d["story_id"] for d in articles.values()}) == 1
    alerts = read_jsonl(out_dir, "alerts")
    latest = {a["rule_id"]: a for a in alerts if a["revision"] == 3}
    assert set(latest) == {"ceasefire", "truce", "postponement"}
    assert all(a["article_ids"] == ["a0", "a1", "a2"] and a["mention_count"] == 3 for a in latest.values())
    assert len({a["alert_id"] for a in alerts}) == 3


def test_rerun_replaces_previous_outputs(tmp_path):
    stale = tmp_path / "alerts-00000-of-00003.jsonl"
    stale.write_text('{"stale": true}\n')
    assert main(["run", "--output", str(tmp_path)]) == 0
    assert not stale.exists()


def test_bad_rules_file_stops_before_reading(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: truce\n    severity: urgent\n    terms: {ar: [هدنة]}\n", encoding="utf-8")
    assert main(["run", "--rules", str(rules), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "rule 'truce', field 'severity'" in error and str(rules) in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["/nonexistent/archive", "README.md"])
def test_bad_input_path_is_a_clear_error(tmp_path, capsys, bad):
    assert main(["run", "--input", str(ROOT / bad) if bad == "README.md" else bad, "--output", str(tmp_path)]) == 2
    assert "marsad: input" in capsys.readouterr().err


def test_rules_test_explains_what_fires_and_why(capsys):
    rules = str(ROOT / "seeds" / "rules" / "default.yaml")
    text = "أعلنت الخارجية إرجاءَ الاجتماع، وانتشرت الفوضى في أرجاء البلاد."
    assert main(["rules", "test", rules, "--text", text, "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "postponement (Postponement): FIRES" in out
    assert "\033[1;31mإرجاءَ\033[0m" in out and "body[15:21]" in out
    assert out.count("\033[1;31m") == 1  # أرجاء ("throughout") is not marked


def test_rules_test_exits_1_when_nothing_fires(capsys, tmp_path):
    rules = str(ROOT / "seeds" / "rules" / "default.yaml")
    source = tmp_path / "article.txt"
    source.write_text("افتتح معرض الكتاب من أجل القراء.", encoding="utf-8")
    assert main(["rules", "test", rules, "--file", str(source), "--color", "never"]) == 1
    assert "postponement (Postponement): does not fire — its terms occur only where" in capsys.readouterr().out


@pytest.mark.slow  # waits out the Kafka client's 30 s bootstrap timeout: `make test` only
def test_unreachable_broker_is_a_clear_error(capsys):
    # Port 1 on loopback: nothing listens, the client gives up after its bootstrap timeout.
    assert (
        main(["replay", str(ROOT / "seeds" / "archive"), "--topic", "kafka://127.0.0.1:1/news", "--no-progress"]) == 2
    )
    assert "marsad: cannot publish to news on 127.0.0.1:1" in capsys.readouterr().err
