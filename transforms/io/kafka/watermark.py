"""The Kafka reader's event-time clock, as pure functions over plain numbers: event times in
microseconds since the epoch (Beam's own resolution, so that nothing is rounded), wall-clock times
in seconds. Unit-tested without Beam or a broker; the reader converts to and from Beam's types.

The rule decides whether a replayed archive arrives on time. A partition's watermark follows the
event time of its records; when a partition is idle its watermark has to move on anyway, or a
window (and the story index's sweeps) would wait for it forever. But an empty poll is not
idleness while records remain below the partition's end: the first fetches after a start often
come back empty, and moving on with the wall clock then would make a replayed backlog late before
it is read.
"""

from __future__ import annotations

from typing import NamedTuple

MICROS = 1_000_000


class LastRecord(NamedTuple):
    """When a partition last yielded a record (wall clock) and that record's event time."""

    wall_seconds: float
    event_micros: int


def micros(seconds: float) -> int:
    """Seconds as whole microseconds, truncated as Beam's ``Duration(seconds=...)`` does."""
    return int(seconds * MICROS)


def caught_up(position: int, fetched_position: int | None, end: int) -> bool:
    """Whether the reader has reached the partition's end: the next offset to claim, or the
    consumer's own fetch position when it is further, is at or past the end offset."""
    return max(position, fetched_position or 0) >= end


def idle_watermark(
    last: LastRecord | None, current_micros: int | None, now_seconds: float, idle_micros: int
) -> tuple[int, LastRecord | None]:
    """The watermark of a caught-up partition after an empty poll, and the last record to keep.

    An idle partition's event time moves on with the wall clock from its last record; after a
    restart from a checkpoint (no last record in memory, only the restored watermark), from the
    restored watermark, so that a replayed archive's dedup state does not expire at once; with
    neither (a partition that never had a record), from now. Always less ``idle_micros``, a grace
    period for records still on the way."""
    if last is None and current_micros is not None:
        last = LastRecord(now_seconds, current_micros + idle_micros)
    if last is None:
        return micros(now_seconds) - idle_micros, None
    return last.event_micros + micros(now_seconds - last.wall_seconds) - idle_micros, last


def advanced(current_micros: int | None, candidate_micros: int, ceiling_micros: int) -> int | None:
    """The watermark to set when ``candidate_micros`` is seen, capped at ``ceiling_micros`` (the
    end of time), or None to leave it: a watermark never moves back."""
    if current_micros is None or candidate_micros > current_micros:
        return min(candidate_micros, ceiling_micros)
    return None


def delay_seconds(current_micros: int, now_seconds: float) -> float:
    """How far event time lags the wall clock: the progress line's watermark delay."""
    return now_seconds - current_micros / 1e6
