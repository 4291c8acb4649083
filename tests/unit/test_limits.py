"""Size limits, byte-order marks and retention checks, without a broker."""

from __future__ import annotations

import gzip

import orjson

from pipelines.cli import main
from schemas.deadletters import RAW_KEPT_CHARS, too_large
from schemas.records import ArticleResult, DeadLetter, RawRecord
from transforms.articles import parse_record
from transforms.io.files.reader import read_file
from transforms.io.kafka.admin import retention_problem
from transforms.io.kafka.sink import _Send, _too_large_for_sink
from transforms.io.kafka.source import _raw_record

from ..conftest import read_jsonl

ARTICLE = {"id": "a1", "published": "2018-02-01T00:00:00Z", "title": "هدنة", "body": "أعلنت الأطراف هدنة في المدينة."}


def test_too_large_keeps_the_start_and_records_the_full_size():
    raw = "ب" * 10_000  # 20,000 bytes in UTF-8
    assert too_large(raw, {"file": "x"}, 20_000) is None
    dead = too_large(raw, {"file": "x", "line": 3}, 19_999)
    assert dead is not None and dead.reason.startswith("too_large:") and dead.stage == "read"
    assert dead.origin["size_bytes"] == 20_000 and dead.origin["line"] == 3
    assert dead.raw == raw[:RAW_KEPT_CHARS] and dead.loses_article


def test_oversized_kafka_value_is_a_dead_letter_even_when_not_utf8():
    value = b"\xff" * 5000
    dead = _raw_record(value, {"topic": "t", "partition": 0, "offset": 7}, 0, max_bytes=4096)
    assert isinstance(dead, DeadLetter) and dead.reason.startswith("too_large")
    assert dead.origin["size_bytes"] == 5000 and len(dead.raw) <= RAW_KEPT_CHARS


def test_an_output_the_broker_refuses_for_size_becomes_a_small_dead_letter():
    from kafka.errors import MessageSizeTooLargeError

    origin = {"topic": "t", "partition": 1, "offset": 9}
    article = parse_record(RawRecord(origin, orjson.dumps(ARTICLE).decode(), "json"))
    value = b"x" * 3_000_000
    send = _Send("articles", article.id, value, "article")
    dead = _too_large_for_sink(ArticleResult(article), send, MessageSizeTooLargeError("big"), "out.articles")
    assert dead.stage == "write" and dead.loses_article and dead.reason.startswith("too_large")
    assert dead.origin["offset"] == 9 and dead.origin["size_bytes"] == 3_000_000 and dead.article_id == "a1"
    assert len(dead.to_json()) < 20_000


def test_a_jsonl_file_with_a_byte_order_mark_reads_its_first_record(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(ARTICLE) + b"\n" + orjson.dumps({**ARTICLE, "id": "a2"}) + b"\n")
    records = list(read_file(str(path)))
    assert [parse_record(r).id for r in records] == ["a1", "a2"]


def test_a_kafka_value_with_a_byte_order_mark_parses():
    payload = "\ufeff" + orjson.dumps(ARTICLE).decode()
    assert parse_record(RawRecord({}, payload, "json", 0)).id == "a1"


def test_replay_retention_check():
    day = 86_400_000
    now = 1_800_000_000_000
    assert retention_problem("news", -1, 0, now) is None
    assert retention_problem("news", 7 * day, now - day, now) is None
    problem = retention_problem("news", 7 * day, now - 400 * day, now)
    assert problem and "retention.ms=604800000" in problem and "marsad topics create" in problem


def test_files_run_turns_an_oversized_article_into_a_dead_letter_and_reads_a_bom_file(tmp_path):
    big = {**ARTICLE, "id": "big", "body": "ب" * 60_000}
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + orjson.dumps(ARTICLE) + b"\n")
    with gzip.open(inputs / "big.jsonl.gz", "wb") as handle:
        handle.write(orjson.dumps(big) + b"\n")
    out = tmp_path / "out"
    assert main(["run", "--input", str(inputs), "--output", str(out), "--max-article-bytes", "100000"]) == 0
    articles = read_jsonl(out, "articles")
    dead = read_jsonl(out, "deadletter")
    assert [a["id"] for a in articles] == ["a1"]
    (letter,) = dead
    assert letter["reason"].startswith("too_large") and letter["origin"]["size_bytes"] > 100_000
    assert len(letter["raw"]) == RAW_KEPT_CHARS
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["dead_letters"] == 1
