"""The shape a record must have before the report model takes it: a served folder or topic may hold
anything, and one malformed record must become a counted problem, not a broken page for everyone."""

from __future__ import annotations

from typing import Any


class MalformedRecordError(ValueError):
    """A record the report cannot use; the message names the field (never the record's content)."""


def _require(record: dict, name: str, kinds: tuple[type, ...], optional: bool = False) -> Any:
    value = record.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise MalformedRecordError(f"field {name!r} missing or not {'/'.join(k.__name__ for k in kinds)}")
    return value


def _dicts(record: dict, name: str, required: tuple[str, ...]) -> None:
    items = _require(record, name, (list,), optional=True) or []
    for item in items:
        if not isinstance(item, dict):
            raise MalformedRecordError(f"field {name!r} holds a non-object")
        for key in required:
            _require(item, key, (str,) if key in ("id", "term", "text", "field") else (int,))


def check_record(kind: str, record: Any) -> None:
    """Raises MalformedRecordError unless ``record`` has what the model reads of a ``kind`` record."""
    if not isinstance(record, dict):
        raise MalformedRecordError(f"a {kind} record must be a JSON object")
    if kind == "alerts":
        for name in ("alert_id", "rule_id", "article_id"):
            _require(record, name, (str,))
        _require(record, "revision", (int,), optional=True)
        _require(record, "mention_count", (int,), optional=True)
        for name in ("title", "severity", "story_id", "snippet", "lang", "published", "detected_at"):
            _require(record, name, (str,), optional=True)
        ids = _require(record, "article_ids", (list,), optional=True) or []
        if not all(isinstance(i, str) for i in ids):
            raise MalformedRecordError("field 'article_ids' holds a non-string")
        _dicts(record, "matches", ("term", "text", "field", "start", "end"))
    elif kind == "articles":
        _require(record, "id", (str,), optional=True)
        for name in ("title", "body", "source", "published", "url", "lang"):
            _require(record, name, (str,), optional=True)
        dedup = _require(record, "dedup", (dict,), optional=True) or {}
        _require(dedup, "status", (str,), optional=True)
        _require(dedup, "story_id", (str,), optional=True)
    elif kind == "events":
        _require(record, "event_id", (str,), optional=True)
        _require(record, "story_id", (str,), optional=True)
        _dicts(record, "locations", ("id",))
        _dicts(record, "actors", ("id",))
        for name in ("time", "sentence", "trigger"):
            span = _require(record, name, (dict,), optional=True) or {}
            _require(span, "start", (int,), optional=True)
            _require(span, "end", (int,), optional=True)
            _require(span, "text", (str,), optional=True)
    elif kind == "deadletter":
        _require(record, "stage", (str,), optional=True)
        _require(record, "reason", (str,), optional=True)
        _require(record, "origin", (dict,), optional=True)


def event_line(event: dict) -> dict:
    """One event as the page's compact line: what, how certain, who, where, when, and its sentence."""
    time = event.get("time") or {}
    sentence = event.get("sentence") or {}
    trigger = event.get("trigger") or {}
    offset = sentence.get("start", 0)
    return {
        "event_id": event.get("event_id"),
        "article_id": event.get("article_id"),
        "type": event.get("type"),
        "plover": event.get("plover"),
        "modality": event.get("modality"),
        "phase": event.get("phase"),
        "actors": [
            {"id": a["id"], "name": a.get("name"), "name_ar": a.get("name_ar"), "role": a.get("role")}
            for a in event.get("actors") or []
        ],
        "places": [
            {"id": p["id"], "name": p.get("name"), "name_ar": p.get("name_ar")} for p in event.get("locations") or []
        ],
        "time": time.get("value") or time.get("text"),
        "time_text": time.get("text"),
        "precision": time.get("precision"),
        "sentence": sentence.get("text", ""),
        "sentence_field": sentence.get("field"),
        "sentence_start": offset,
        # The trigger inside the sentence, so the page can mark the word that made it an event.
        "trigger": [trigger.get("start", offset) - offset, trigger.get("end", offset) - offset]
        if trigger.get("field") == sentence.get("field")
        else None,
    }
