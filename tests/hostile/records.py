"""Small hand-made output records for the hostile tests: just what the report reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def article(article_id: str, source: str = "wire", title: str = "a title", **extra: Any) -> dict:
    return {
        "id": article_id,
        "title": title,
        "body": "the body text of the article",
        "source": source,
        "published": "2024-05-01T10:00:00Z",
        "lang": "en",
        "dedup": {"status": "unique", "story_id": f"s-{article_id}"},
        **extra,
    }


def alert(alert_id: str, rule_id: str, article_id: str, **extra: Any) -> dict:
    return {
        "alert_id": alert_id,
        "rule_id": rule_id,
        "article_id": article_id,
        "article_ids": [article_id],
        "story_id": f"s-{article_id}",
        "lang": "en",
        "severity": "high",
        "title": rule_id,
        "matches": [{"term": "body", "text": "body", "field": "body", "start": 4, "end": 8}],
        "snippet": "the body text",
        "published": "2024-05-01T10:00:00Z",
        "detected_at": "2024-05-01T10:00:01Z",
        "revision": 1,
        "mention_count": 1,
        **extra,
    }


def write_folder(folder: Path, **kinds: list[Any]) -> Path:
    """``kinds``: articles=[...], alerts=[...], ... (a record may be a dict or a raw line)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, records in kinds.items():
        lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
        (folder / f"{kind}-00000-of-00001.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return folder
