"""A JSON array read one element at a time, in bounded memory: a file of 30,000 articles is not held
whole, and an element larger than the limit is skipped to its end while only its start is kept.

Only the array's structure is tracked here (strings, escapes, nesting); each element is checked by
``orjson`` when it is whole. No dependency: the grammar needed to find element ends is this small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 8000  # of an oversized element: at least 2,000 characters of UTF-8
_IN_STRING = re.compile(rb'["\\]')
_OUTSIDE = re.compile(rb'["{}\[\],]')
_WHITESPACE = b" \t\r\n"


class JsonArrayError(ValueError):
    """The array is truncated or malformed; elements before it were read."""


@dataclass
class Element:
    """One element: its bytes when whole (``data``), or only its ``head`` when over the limit."""

    index: int
    size: int
    data: bytes | None
    head: bytes


def array_elements(read: Callable[[int], bytes], start: bytes, limit: int) -> Iterator[Element]:
    """Elements of the array whose text begins with ``start`` (from its ``[``) and goes on with
    ``read(n)``; raises JsonArrayError at the first structural fault or at a premature end."""
    buffer = bytearray()  # the current element, up to limit + 1 bytes
    size = 0
    depth = 0  # nesting inside the array (1 = between elements)
    in_string = escaped = False
    index = 0
    closed = False
    chunk = start.lstrip(_WHITESPACE)
    if not chunk.startswith(b"["):
        raise JsonArrayError("not an array")
    chunk = chunk[1:]
    depth = 1
    while True:
        if not chunk:
            chunk = read(CHUNK_BYTES)
            if not chunk:
                break
        if closed:
            if chunk.strip(_WHITESPACE):
                raise JsonArrayError(f"data after the array's end (after {index} elements)")
            chunk = b""
            continue
        position = 0
        end_of_element = -1
        while position < len(chunk):
            if in_string:
                if escaped:
                    escaped = False
                    position += 1
                    continue
                found = _IN_STRING.search(chunk, position)
                if found is None:
                    position = len(chunk)
                    break
                position = found.end()
                if found.group() == b"\\":
                    escaped = True
                else:
                    in_string = False
                continue
            found = _OUTSIDE.search(chunk, position)
            if found is None:
                position = len(chunk)
                break
            position = found.end()
            mark = found.group()
            if mark == b'"':
                in_string = True
            elif mark in b"{[":
                depth += 1
            elif depth > 1:
                if mark in b"}]":
                    depth -= 1
            elif mark == b"}":
                raise JsonArrayError(f"unbalanced '}}' in element {index}")
            else:  # a "," or the array's "]": the element ends before it
                end_of_element = found.start()
                closed = mark == b"]"
                break
        piece = chunk[: end_of_element if end_of_element >= 0 else position]
        size += len(piece)
        if len(buffer) <= limit:
            buffer += piece[: limit + 1 - len(buffer)]
        if end_of_element < 0:
            chunk = chunk[position:]
            continue
        chunk = chunk[end_of_element + 1 :]
        text = bytes(buffer).strip(_WHITESPACE)
        if text or not closed or index:
            if not text:
                raise JsonArrayError(f"an empty element at {index}")
            whole = len(buffer) <= limit
            yield Element(index, size, text if whole else None, bytes(buffer[:HEAD_BYTES]).lstrip(_WHITESPACE))
            index += 1
        buffer.clear()
        size = 0
    if not closed:
        where = f"inside element {index}" if buffer.strip(_WHITESPACE) or in_string else f"after {index} elements"
        raise JsonArrayError(f"the array is truncated {where}")
