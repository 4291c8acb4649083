import gzip

import orjson
import pytest

from schemas.records import Article, DeadLetter, RawRecord, stable_article_id
from transforms.articles import parse_record
from transforms.io.files.reader import InputError, expand_inputs, read_file

GOOD = {
    "id": "1",
    "source": "s",
    "url": "http://x/1",
    "published": "2018-02-01T10:00:00+03:00",
    "title": "هدنة",
    "body": "أعلن الطرفان هدنة.",
    "lang": "ar",
    "meta": {"category": "world"},
}


def write_jsonl(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def test_jsonl_malformed_line_becomes_dead_letter_with_line_number(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [orjson.dumps(GOOD), b"{not json", b"", orjson.dumps({**GOOD, "id": "2"})])
    parsed = [parse_record(r) if isinstance(r, RawRecord) else r for r in read_file(path)]
    assert [type(p).__name__ for p in parsed] == ["Article", "DeadLetter", "Article"]
    dead = parsed[1]
    assert dead.stage == "parse" and dead.origin == {"file": path, "line": 2} and dead.raw == "{not json"
    assert "not valid JSON" in dead.reason


def test_invalid_utf8_line_is_kept_as_base64(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [b"\xff\xfe broken", orjson.dumps(GOOD)])
    records = list(read_file(path))
    assert isinstance(records[0], DeadLetter) and records[0].stage == "read"
    assert records[0].raw is None and records[0].raw_base64 == "//4gYnJva2Vu"
    assert isinstance(records[1], RawRecord)


def test_json_array_gzip_and_text_files(tmp_path):
    array = tmp_path / "a.json.gz"
    with gzip.open(array, "wb") as handle:
        handle.write(orjson.dumps([GOOD, {**GOOD, "id": "2"}]))
    records = list(read_file(str(array)))
    assert [r.origin["index"] for r in records] == [0, 1]
    text = tmp_path / "seed.txt"
    text.write_text("\ufeffأعلنت روسيا هدنة.\n", encoding="utf-8")
    (record,) = read_file(str(text))
    article = parse_record(record)
    assert article.body == "أعلنت روسيا هدنة." and article.lang == "ar" and article.title == ""
    assert article.id == stable_article_id(None, None, "", article.body)


def test_truncated_gzip_is_a_read_dead_letter(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(orjson.dumps(GOOD) * 50)[:40])
    records = list(read_file(str(path)))
    assert isinstance(records[-1], DeadLetter) and records[-1].stage == "read"


def test_parse_keeps_extra_fields_and_assigns_stable_ids():
    article = parse_record(RawRecord({}, orjson.dumps(GOOD).decode(), "json"))
    assert isinstance(article, Article) and article.extra == {"meta": {"category": "world"}}
    no_id = {k: v for k, v in GOOD.items() if k != "id"}
    first = parse_record(RawRecord({}, orjson.dumps(no_id).decode(), "json"))
    second = parse_record(RawRecord({}, orjson.dumps(no_id).decode(), "json"))
    assert first.id == second.id == stable_article_id("s", "http://x/1", "هدنة", "أعلن الطرفان هدنة.")
    missing_lang = {k: v for k, v in GOOD.items() if k != "lang"}
    assert parse_record(RawRecord({}, orjson.dumps(missing_lang).decode(), "json")).lang == "ar"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"id": "1"}, "neither a title nor a body"),
        ({**GOOD, "body": 5}, "field 'body' must be a string"),
        ({**GOOD, "id": {"x": 1}}, "field 'id'"),
        ({**GOOD, "published": "yesterday"}, "not an ISO-8601"),
    ],
)
def test_invalid_articles_are_dead_letters_with_reasons(payload, reason):
    raw = orjson.dumps(payload).decode()
    dead = parse_record(RawRecord({"file": "f", "line": 3}, raw, "json"))
    assert isinstance(dead, DeadLetter) and reason in dead.reason
    assert dead.raw == raw and dead.origin == {"file": "f", "line": 3}


def test_empty_text_file_is_a_dead_letter():
    assert isinstance(parse_record(RawRecord({"file": "x.txt"}, "  \n", "text")), DeadLetter)


def test_expand_inputs(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_text("")
    (tmp_path / "d" / "b.txt.gz").write_bytes(gzip.compress(b"x"))
    (tmp_path / "d" / "notes.md").write_text("")
    files, skipped = expand_inputs([str(tmp_path / "d")])
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.jsonl", "b.txt.gz"]
    assert skipped == [str(tmp_path / "d" / "notes.md")]
    assert expand_inputs([str(tmp_path / "d" / "*.jsonl")])[0] == [str(tmp_path / "d" / "a.jsonl")]
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="unknown format"):
        expand_inputs([str(tmp_path / "d" / "notes.md")])
