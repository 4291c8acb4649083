"""Dead letters made from inputs: the one way a rejected input is kept (whole, or its start when it
is too large) with the reason, shared by the file and Kafka sources, Parse and the sinks."""

from __future__ import annotations

import base64
from typing import Any

from schemas.records import DeadLetter


def dead_letter(reason: str, stage: str, origin: dict[str, Any], raw: bytes | str | None) -> DeadLetter:
    """A dead letter that keeps the input as it came: as text when it is UTF-8, else base64, so that
    no rejected input is lost or mangled (reading and parsing both reject with it)."""
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
    return too_large_from_head(raw, size, origin, limit, stage, what)


def too_large_from_head(
    head: bytes | str, size: int, origin: dict[str, Any], limit: int, stage: str = "read", what: str = "article"
) -> DeadLetter:
    """The ``too_large`` dead letter of an input of ``size`` bytes of which only ``head`` (its start,
    at least ``RAW_KEPT_CHARS`` characters when it has them) was kept: a reader that stops buffering
    at the limit makes the same dead letter as a check of the whole input."""
    text = head if isinstance(head, str) else head[: RAW_KEPT_CHARS * 4].decode("utf-8", errors="replace")
    return DeadLetter(
        reason=f"{TOO_LARGE}: {what} of {size:,} bytes is over the limit of {limit:,} bytes",
        stage=stage,
        origin={**origin, "size_bytes": size, "raw_truncated_to_chars": RAW_KEPT_CHARS},
        raw=text[:RAW_KEPT_CHARS],
    )
