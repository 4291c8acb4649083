"""Input files to raw records, raw records to Articles or DeadLetters. No Beam here.

Formats, chosen by file name (an optional ``.gz`` suffix means gzip):
- ``.jsonl`` / ``.ndjson``: one JSON article per line (blank lines are not records);
- ``.json``: a JSON array of articles, or a single article object;
- ``.txt``: one article per file, the whole file being its body (like the seed document).
"""

from __future__ import annotations

import base64
import datetime as dt
import glob
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from schemas.records import Article, DeadLetter, stable_article_id
from transforms.text import detect_lang

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
TEXT_SUFFIXES = (".txt",)
ARTICLE_SUFFIXES = JSON_LINES_SUFFIXES + JSON_SUFFIXES + TEXT_SUFFIXES
BOM = "\ufeff"


class InputError(ValueError):
    """An input path that names nothing readable: reported before the pipeline starts."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One article's worth of input, exactly as read, and where it came from."""

    origin: dict[str, Any]
    payload: str
    format: str  # "json" or "text"
    timestamp_ms: int | None = None  # the transport's own timestamp (Kafka), when there is one


def article_format(path: str) -> str | None:
    name = path[:-3] if path.endswith(".gz") else path
    for suffixes, kind in ((JSON_LINES_SUFFIXES, "jsonl"), (JSON_SUFFIXES, "json"), (TEXT_SUFFIXES, "txt")):
        if name.endswith(suffixes):
            return kind
    return None


def expand_inputs(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """Files named by paths, directories (recursive) and globs: (article files, skipped files).

    A path that matches nothing raises InputError; files in a directory that are not article
    files are returned as skipped so that the caller can say so.
    """
    files: list[str] = []
    skipped: list[str] = []
    for path in paths:
        matches = sorted(glob.glob(path, recursive=True)) if glob.has_magic(path) else [path]
        if not matches or not all(os.path.exists(m) for m in matches):
            raise InputError(f"input {path!r}: no such file or directory")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):
                    dirs.sort()
                    for name in sorted(names):
                        full = os.path.join(root, name)
                        (files if article_format(full) else skipped).append(full)
            elif article_format(match):
                files.append(match)
            else:
                raise InputError(
                    f"input {match!r}: unknown format; expected one of {', '.join(ARTICLE_SUFFIXES)} (optionally .gz)"
                )
    return list(dict.fromkeys(files)), skipped


def _dead(reason: str, stage: str, origin: dict[str, Any], raw: bytes | str | None) -> DeadLetter:
    if isinstance(raw, bytes):
        try:
            return DeadLetter(reason=reason, stage=stage, origin=origin, raw=raw.decode("utf-8"))
        except UnicodeDecodeError:
            return DeadLetter(
                reason=reason, stage=stage, origin=origin, raw=None, raw_base64=base64.b64encode(raw).decode("ascii")
            )
    return DeadLetter(reason=reason, stage=stage, origin=origin, raw=raw)


DEFAULT_MAX_ARTICLE_BYTES = 1_000_000
RAW_KEPT_CHARS = 2000  # of an oversized input, kept in its dead letter to tell which one it was
TOO_LARGE = "too_large"


def too_large(
    raw: bytes | str, origin: dict[str, Any], limit: int, stage: str = "read", what: str = "article"
) -> DeadLetter | None:
    """A ``too_large`` dead letter when ``raw`` is over ``limit`` bytes (UTF-8), else None. The
    dead letter keeps the start of the input and records the full size in its origin, so that it
    stays small enough for any sink."""
    if len(raw) <= limit // 4:  # no UTF-8 character takes more than 4 bytes: cheap common case
        return None
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8"))
    if size <= limit:
        return None
    text = raw if isinstance(raw, str) else raw[: RAW_KEPT_CHARS * 4].decode("utf-8", errors="replace")
    return DeadLetter(
        reason=f"{TOO_LARGE}: {what} of {size:,} bytes is over the limit of {limit:,} bytes",
        stage=stage,
        origin={**origin, "size_bytes": size, "raw_truncated_to_chars": RAW_KEPT_CHARS},
        raw=text[:RAW_KEPT_CHARS],
    )


def read_file(path: str) -> Iterator[RawRecord | DeadLetter]:
    """Raw records of one article file; unreadable parts become read-stage dead letters."""
    kind = article_format(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            if kind == "jsonl":
                for number, line in enumerate(handle, start=1):
                    origin = {"file": path, "line": number}
                    if not line.strip():
                        continue
                    try:
                        # A byte-order mark (Windows editors write one) belongs to the file, not the record.
                        text = line.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
                    except UnicodeDecodeError as error:
                        yield _dead(f"line is not valid UTF-8: {error}", "read", origin, line.rstrip(b"\r\n"))
                        continue
                    yield RawRecord(origin, text, "json")
                return
            data = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        yield _dead(f"cannot read file: {error}", "read", {"file": path}, None)
        return
    origin = {"file": path}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield _dead(f"file is not valid UTF-8: {error}", "read", origin, data)
        return
    if kind == "txt":
        yield RawRecord(origin, text, "text")
        return
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        yield _dead(f"file is not valid JSON: {error}", "read", origin, text)
        return
    if isinstance(document, list):
        for index, element in enumerate(document):
            yield RawRecord({"file": path, "index": index}, orjson.dumps(element).decode("utf-8"), "json")
    else:
        yield RawRecord(origin, text, "json")


def parse_record(record: RawRecord) -> Article | DeadLetter:
    """Validate one raw record into an Article, or explain in a dead letter why it is not one."""
    if record.format == "text":
        body = record.payload.strip()
        if not body:
            return _dead("empty article: the file has no text", "parse", record.origin, record.payload)
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
        return _dead(f"not valid JSON: {error}", "parse", record.origin, record.payload)
    if not isinstance(data, dict):
        return _dead(f"expected a JSON object, got {type(data).__name__}", "parse", record.origin, record.payload)
    problem = _field_problem(data)
    if problem:
        return _dead(problem, "parse", record.origin, record.payload)
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
    return published_ms(article.published)


def default_seeds_dir() -> Path:
    """``seeds/`` of this checkout (the project is installed editable) or MARSAD_SEEDS."""
    return Path(os.environ.get("MARSAD_SEEDS", Path(__file__).resolve().parent.parent / "seeds"))
