"""Raw records to Articles or DeadLetters: validation, ids, event time, the size limit. No Beam
here, and no reading: the sources (``transforms/io``) hand over ``RawRecord``s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from schemas.deadletters import dead_letter
from schemas.records import Article, DeadLetter, RawRecord, stable_article_id
from transforms.text import detect_lang

BOM = "\ufeff"


def parse_record(record: RawRecord) -> Article | DeadLetter:
    """Validate one raw record into an Article, or explain in a dead letter why it is not one."""
    if record.format == "text":
        body = record.payload.strip()
        if not body:
            return dead_letter("empty article: the file has no text", "parse", record.origin, record.payload)
        return Article(
            id=stable_article_id(None, None, "", body),
            source=None,
            url=None,
            published=None,
            title="",
            body=body,
            lang=detect_lang(body),
            origin=record.origin,
        )
    try:
        # A leading byte-order mark (a Kafka value saved by a Windows tool) is not part of the JSON.
        data = orjson.loads(record.payload.removeprefix(BOM))
    except orjson.JSONDecodeError as error:
        return dead_letter(f"not valid JSON: {error}", "parse", record.origin, record.payload)
    if not isinstance(data, dict):
        return dead_letter(f"expected a JSON object, got {type(data).__name__}", "parse", record.origin, record.payload)
    problem = _field_problem(data)
    if problem:
        return dead_letter(problem, "parse", record.origin, record.payload)
    title = (data.get("title") or "").strip()
    body = (data.get("body") or "").strip()
    article_id = data.get("id")
    if article_id is None or article_id == "":
        article_id = stable_article_id(data.get("source"), data.get("url"), title, body)
    lang = data.get("lang") or detect_lang(title + "\n" + body)
    extra = {k: v for k, v in data.items() if k not in ("id", "source", "url", "published", "title", "body", "lang")}
    return Article(
        id=str(article_id),
        source=data.get("source"),
        url=data.get("url"),
        published=data.get("published"),
        title=title,
        body=body,
        lang=lang,
        extra=extra,
        origin=record.origin,
    )


def _field_problem(data: dict[str, Any]) -> str | None:
    for name in ("title", "body", "source", "url", "lang", "published"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"field {name!r} must be a string, got {type(value).__name__}"
    article_id = data.get("id")
    if article_id is not None and (isinstance(article_id, bool) or not isinstance(article_id, (str, int))):
        return f"field 'id' must be a string or an integer, got {type(article_id).__name__}"
    if not (data.get("title") or "").strip() and not (data.get("body") or "").strip():
        return "article has neither a title nor a body"
    published = data.get("published")
    if published and published_ms(published) is None:
        return f"field 'published' is not an ISO-8601 date-time: {published!r}"
    return None


def published_ms(published: str | None) -> int | None:
    """A publication time in ms since the epoch (naive means UTC); None when absent or invalid."""
    if not published:
        return None
    try:
        moment = dt.datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def event_time_ms(article: Article) -> int | None:
    """An article's event time: when it was published, so that windows follow the news, not arrival."""
    return published_ms(article.published)
