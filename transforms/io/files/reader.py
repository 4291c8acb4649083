"""Input files to raw records, in plain Python: the file source's Beam transform and ``marsad
replay`` (which needs no Beam) both read through here.

Formats, chosen by file name (an optional ``.gz`` suffix means gzip):
- ``.jsonl`` / ``.ndjson``: one JSON article per line (blank lines are not records);
- ``.json``: a JSON array of articles, or a single article object;
- ``.txt``: one article per file, the whole file being its body (like the seed document).
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator

import orjson

from schemas.deadletters import dead_letter
from schemas.records import DeadLetter, RawRecord

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
TEXT_SUFFIXES = (".txt",)
ARTICLE_SUFFIXES = JSON_LINES_SUFFIXES + JSON_SUFFIXES + TEXT_SUFFIXES


class InputError(ValueError):
    """An input path that names nothing readable: reported before the pipeline starts."""


def article_format(path: str) -> str | None:
    """``jsonl``, ``json`` or ``txt`` by the file's name (a ``.gz`` suffix aside); None for a file
    that is not an article file, so that a directory's other files can be skipped."""
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
                        yield dead_letter(f"line is not valid UTF-8: {error}", "read", origin, line.rstrip(b"\r\n"))
                        continue
                    yield RawRecord(origin, text, "json")
                return
            data = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        yield dead_letter(f"cannot read file: {error}", "read", {"file": path}, None)
        return
    origin = {"file": path}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield dead_letter(f"file is not valid UTF-8: {error}", "read", origin, data)
        return
    if kind == "txt":
        yield RawRecord(origin, text, "text")
        return
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        yield dead_letter(f"file is not valid JSON: {error}", "read", origin, text)
        return
    if isinstance(document, list):
        for index, element in enumerate(document):
            yield RawRecord({"file": path, "index": index}, orjson.dumps(element).decode("utf-8"), "json")
    else:
        yield RawRecord(origin, text, "json")
