"""Input files to raw records, in plain Python: the file source's Beam transform and ``marsad
replay`` (which needs no Beam) both read through here.

Formats, chosen by file name (an optional ``.gz`` suffix means gzip):
- ``.jsonl`` / ``.ndjson``: one JSON article per line (blank lines are not records);
- ``.json``: a JSON array of articles, or a single article object;
- ``.txt``: one article per file, the whole file being its body (like the seed document).
"""

from __future__ import annotations

import fnmatch
import functools
import glob
import gzip
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import orjson

from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES, RAW_KEPT_CHARS, dead_letter, too_large_from_head
from schemas.records import DeadLetter, RawRecord
from transforms.io.files.json_stream import CHUNK_BYTES, JsonArrayError, array_elements

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
TEXT_SUFFIXES = (".txt",)
ARTICLE_SUFFIXES = JSON_LINES_SUFFIXES + JSON_SUFFIXES + TEXT_SUFFIXES
BOM = b"\xef\xbb\xbf"


class _Readable(Protocol):
    """A binary file, plain or gzip."""

    def read(self, size: int = -1, /) -> bytes: ...
    def readline(self, size: int = -1, /) -> bytes: ...


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

    A path that matches nothing, or names a FIFO or a device, raises InputError; files in a
    directory that are not article files are returned as skipped so that the caller can say so.
    A file named twice (``a.jsonl ./a.jsonl``, a link to it) is read once; directories are walked
    and ``**`` matched without following directory links, so a link to ``.`` cannot loop.
    """
    files: list[str] = []
    skipped: list[str] = []
    for path in paths:
        matches = _glob(path) if glob.has_magic(path) else [path]
        if not matches or not all(os.path.lexists(m) for m in matches):
            raise InputError(f"input {path!r}: no such file or directory")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):  # does not descend into directory links
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
    unique: dict[str, str] = {}
    for path in files:
        _require_regular_file(path)
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values()), skipped


def _require_regular_file(path: str) -> None:
    """A FIFO would block the reader forever and a device never ends: refused before the run."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise InputError(f"input {path!r}: cannot read it: {error.strerror}") from error
    if not stat.S_ISREG(mode):
        what = (
            "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
        )
        raise InputError(f"input {path!r} is {what}, not a regular file: marsad reads article files only")


def _glob(pattern: str) -> list[str]:
    """``glob.glob``, except that ``**`` does not follow directory links (Python's does, and a link
    to ``.`` or two links to each other never end)."""
    parts = pattern.split(os.sep)
    if "**" not in parts:
        return sorted(glob.glob(pattern))
    first_magic = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = os.sep.join(parts[:first_magic]) or ("." if not pattern.startswith(os.sep) else os.sep)
    wanted = parts[first_magic:]
    found: list[str] = []
    for root, dirs, names in os.walk(base):  # followlinks=False: a linked directory is a name, not a walk
        dirs.sort()
        for name in sorted(dirs) + sorted(names):
            full = os.path.join(root, name)
            relative = os.path.relpath(full, base).split(os.sep)
            if _matches(tuple(relative), tuple(wanted)):
                found.append(full if parts[:first_magic] else os.path.relpath(full, "."))
    return sorted(found)


@functools.lru_cache(maxsize=4096)
def _matches(parts: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return not parts
    head = patterns[0]
    if head == "**":  # zero or more directories
        return any(_matches(parts[skip:], patterns[1:]) for skip in range(len(parts) + 1))
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _matches(parts[1:], patterns[1:])


def read_file(path: str, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> Iterator[RawRecord | DeadLetter]:
    """Raw records of one article file; unreadable parts become read-stage dead letters.

    Memory stays bounded whatever the file holds (a gzip bomb, a 50 MB line): a line, JSON element
    or text file over ``max_bytes`` is read on to its end without being kept, and becomes a
    ``too_large`` dead letter holding its start; reading goes on at the next record."""
    kind = article_format(path)
    opener = gzip.open if path.endswith(".gz") else open
    where: dict[str, int] = {}
    try:
        with opener(path, "rb") as handle:
            if kind == "jsonl":
                yield from _json_lines(path, handle, max_bytes, where)
            elif kind == "json":
                yield from _json_file(path, handle, max_bytes, where)
            else:
                yield from _text_file(path, handle, max_bytes)
    except (OSError, EOFError, zlib.error) as error:
        # A truncated or corrupted gzip stream: the records before the fault were read.
        at = f" after line {where['line']}" if where.get("line") else ""
        yield dead_letter(f"cannot read file{at}: {error}", "read", {"file": path, **where}, None)


def _bounded_lines(handle: _Readable, limit: int) -> Iterator[tuple[bytes, int, bool]]:
    """(line, size, whole): a line over ``limit`` bytes is read to its end but only its head kept."""
    while True:
        line = handle.readline(limit + 3)  # room for "\r\n" and a byte-order mark
        if not line:
            return
        if line.endswith(b"\n") or len(line) < limit + 3:
            yield line, len(line), True
            continue
        size, head, blank = len(line), line[: RAW_KEPT_CHARS * 4], not line.strip()
        while not line.endswith(b"\n"):
            line = handle.readline(CHUNK_BYTES)
            if not line:
                break
            size += len(line)
            blank = blank and not line.strip()
        if not blank:
            yield head, size - len(line) + len(line.rstrip(b"\r\n")), False


def _json_lines(path: str, handle: _Readable, limit: int, where: dict[str, int]) -> Iterator[RawRecord | DeadLetter]:
    for number, (line, size, whole) in enumerate(_bounded_lines(handle, limit), start=1):
        where["line"] = number
        origin = {"file": path, "line": number}
        if not whole:
            yield too_large_from_head(line, size, origin, limit)
            continue
        if not line.strip():
            continue
        try:
            # A byte-order mark (Windows editors write one) belongs to the file, not the record.
            text = line.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            yield dead_letter(f"line is not valid UTF-8: {error}", "read", origin, line.rstrip(b"\r\n"))
            continue
        yield RawRecord(origin, text, "json")


def _read_bounded(handle: _Readable, limit: int) -> tuple[bytes, int]:
    """The file's bytes when within ``limit`` (a BOM aside), else its head and its full size."""
    data = handle.read(limit + 4)
    if len(data) <= limit + 3:
        return data, len(data)
    size, head = len(data), data[: RAW_KEPT_CHARS * 4]
    while chunk := handle.read(CHUNK_BYTES):
        size += len(chunk)
    return head, size


def _text_file(path: str, handle: _Readable, limit: int) -> Iterator[RawRecord | DeadLetter]:
    origin = {"file": path}
    data, size = _read_bounded(handle, limit)
    if size > len(data):
        yield too_large_from_head(data.removeprefix(BOM), size - (3 if data.startswith(BOM) else 0), origin, limit)
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield dead_letter(f"file is not valid UTF-8: {error}", "read", origin, data)
        return
    yield RawRecord(origin, text, "text")


def _json_file(path: str, handle: _Readable, limit: int, where: dict[str, int]) -> Iterator[RawRecord | DeadLetter]:
    origin = {"file": path}
    start = handle.read(64).removeprefix(BOM)
    while start.isspace():  # a file may begin with many blank lines before its "["
        more = handle.read(CHUNK_BYTES)
        if not more:
            break
        start = more
    if not start.lstrip().startswith(b"["):
        rest, size = _read_bounded(handle, max(0, limit - len(start)))
        if size > len(rest):
            yield too_large_from_head(start + rest, len(start) + size, origin, limit)
            return
        yield from _json_document(origin, start + rest)
        return
    elements = array_elements(handle.read, start, limit)
    try:
        for element in elements:
            where["index"] = element.index
            element_origin = {"file": path, "index": element.index}
            if element.data is None:
                yield too_large_from_head(element.head, element.size, element_origin, limit)
                continue
            try:
                value = orjson.loads(element.data)
            except orjson.JSONDecodeError as error:
                yield dead_letter(f"element is not valid JSON: {error}", "read", element_origin, element.data)
                continue
            yield RawRecord(element_origin, orjson.dumps(value).decode("utf-8"), "json")
    except JsonArrayError as error:
        yield dead_letter(f"file is not valid JSON: {error}", "read", {"file": path, **where}, None)


def _json_document(origin: dict[str, Any], data: bytes) -> Iterator[RawRecord | DeadLetter]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield dead_letter(f"file is not valid UTF-8: {error}", "read", origin, data)
        return
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as error:
        yield dead_letter(f"file is not valid JSON: {error}", "read", origin, text)
        return
    yield RawRecord(origin, text, "json")
