"""Every record's JSON form round-trips through orjson and validates against its JSON Schema."""

import jsonschema
import orjson
import pytest

from schemas import SCHEMA_DIR
from schemas.records import Alert, Article, DeadLetter, Dedup, Event, Match, Mention, Span, TimeExpression

ARTICLE = Article(
    id="a1",
    source="bbc",
    url="http://x",
    published="2018-02-01T00:00:00Z",
    title="t",
    body="b",
    lang="ar",
    extra={"meta": {"category": "world"}},
    dedup=Dedup("duplicate", "a0", "st-1", 1.0),
)
ALERT = Alert(
    alert_id="al-1",
    rule_id="truce",
    article_id="a1",
    story_id="st-1",
    lang="ar",
    severity="high",
    matches=(Match("هدنة", "الهدنة", "body", 3, 9),),
    snippet="…الهدنة…",
    published=None,
    detected_at="2026-01-01T00:00:00+00:00",
    title="Truce",
)
EVENT = Event(
    event_id="ev-1",
    article_id="a1",
    type="postponement",
    trigger=Span("body", 1, 6, "إرجاء"),
    actors=(Mention("RUS", "Russia", "country", Span("body", 10, 15, "روسيا"), role="agent"),),
    locations=(Mention("GVA", "Geneva", "city", Span("body", 20, 24, "جنيف")),),
    time=TimeExpression("السبت", 30, 35, "2016-02-20", "day"),
    sentence=Span("body", 0, 40, "..."),
    story_id="st-1",
)
DEAD = DeadLetter(reason="not valid JSON", stage="parse", origin={"file": "f.jsonl", "line": 2}, raw="{x")


@pytest.mark.parametrize(
    ("record", "schema"),
    [(ARTICLE, "article"), (ALERT, "alert"), (EVENT, "event"), (DEAD, "deadletter")],
)
def test_round_trip_and_schema(record, schema):
    assert type(record).from_json(record.to_json()) == record
    document = orjson.loads((SCHEMA_DIR / f"{schema}.schema.json").read_bytes())
    jsonschema.Draft202012Validator.check_schema(document)
    jsonschema.validate(orjson.loads(record.to_json()), document)


def test_article_extra_fields_stay_at_top_level():
    data = orjson.loads(ARTICLE.to_json())
    assert data["meta"] == {"category": "world"} and data["dedup"]["status"] == "duplicate"


def test_schema_rejects_a_broken_alert():
    document = orjson.loads((SCHEMA_DIR / "alert.schema.json").read_bytes())
    data = orjson.loads(ALERT.to_json())
    data["matches"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, document)
