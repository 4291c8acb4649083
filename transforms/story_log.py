"""The story index's durable form: a log of its decisions, and the rules for keeping that log.

The Beam step that runs the story index (transforms/beam/stories.py) keeps this log in keyed
state and treats the in-memory StoryIndex as a cache of it. Everything here is plain Python so
that packing, rebuilding, sweeping and compaction can be tested without a runner.

- A log record is one of ``StoryIndex.drain_log()``'s tuples, kept pickled: one bytes object per
  record, which a runner's state cache sizes at a glance (it walks object graphs, and a record's
  signature and alert objects made that walk a large part of the step's cost).
- A sweep at watermark W forgets only what is older than W - retention - allowed lateness, so a
  record that arrives at most that late is still judged against its whole window, as in batch.
- The log is rewritten only when it holds more forgotten records than live ones, so memory stays
  bounded by a few windows of articles and a replay of months of archive does not rewrite the
  whole log at every sweep.
- The log is idempotent per article id: when one id has several article records (a same-id
  re-publish that arrived after a sweep had forgotten the first), the last one stands for it, so a
  rebuild never inserts one id twice.
- Every change of the state writes a new ``Generation`` beside the log. A worker's index is a
  cache of the state it was built from or wrote; it is used only while its generation equals the
  state's, so a state restored from a checkpoint (older than the cache) is always rebuilt from.
"""

from __future__ import annotations

import math
import pickle
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.stories import DEFAULT_THRESHOLDS, LogRecord, StoryIndex, Thresholds

MIN_SWEEP_SECONDS = 3600


def pack(record: LogRecord) -> bytes:
    """One log record as the bytes kept in state."""
    return pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> LogRecord:
    """The log record that ``pack`` kept."""
    record: LogRecord = pickle.loads(data)
    return record


def pack_all(records: Iterable[LogRecord]) -> list[bytes]:
    """Records (from ``drain_log`` or ``snapshot``) as the bytes to append to the log."""
    return [pack(record) for record in records]


def latest_per_article(records: Iterable[LogRecord]) -> list[LogRecord]:
    """The records in log order, but only the last article record of each article id (where the
    earlier one stood): a same-id re-publish decided again after a sweep replaces what it had."""
    records = list(records)
    last: dict[str, int] = {}
    for position, record in enumerate(records):
        if record[0] == "article":
            last[record[1].article_id] = position
    return [
        record
        for position, record in enumerate(records)
        if record[0] != "article" or last[record[1].article_id] == position
    ]


def rebuild(
    log: Iterable[bytes],
    retention_seconds: float,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    swept_until: float = 0.0,
) -> StoryIndex:
    """The index that the log describes: every record replayed (the last of each article id),
    then what the last sweep forgot (up to ``swept_until``, when there was one) forgotten again."""
    index = StoryIndex(retention_seconds, thresholds)
    for record in latest_per_article(unpack(data) for data in log):
        index.replay(record)
    if swept_until:
        index.expire(swept_until)
    return index


@dataclass(frozen=True)
class Generation:
    """Which version of the story state an index was built from: a counter and the log's length
    (readable in a log line) and a random nonce (two histories that reach the same counter, such
    as a restored state that then went on, still differ)."""

    counter: int
    log_size: int
    nonce: str

    def next(self, log_size: int) -> Generation:
        """The generation to write with a change that leaves the log ``log_size`` records long."""
        return Generation(self.counter + 1, log_size, uuid.uuid4().hex)


FIRST_GENERATION = Generation(0, 0, "")  # the state before anything was written


def cache_matches(cached: Generation | None, stored: Generation | None) -> bool:
    """Whether an index built at (or written as) ``cached`` is the state now holding ``stored``.
    A worker that has no index (``cached`` None) never matches; neither does a state restored to
    an earlier generation than the cache, nor one from another history."""
    return cached is not None and cached == (stored or FIRST_GENERATION)


def is_late(timestamp: float, swept_until: float) -> bool:
    """Whether part of an article's window was already forgotten when it arrived: it is judged
    against what is left (and counted as ``late_beyond_margin``)."""
    return bool(swept_until) and timestamp < swept_until


@dataclass(frozen=True)
class SweepSchedule:
    """When the story index is swept: at most every quarter of the retention window (at least an
    hour apart), and only once the oldest remembered article can be forgotten."""

    retention_seconds: int
    lateness_seconds: int
    every_seconds: int

    @classmethod
    def for_retention(cls, retention_seconds: int, allowed_lateness_seconds: int | None = None) -> SweepSchedule:
        """The schedule of a window; allowed lateness defaults to one retention window."""
        lateness = retention_seconds if allowed_lateness_seconds is None else allowed_lateness_seconds
        return cls(retention_seconds, lateness, max(MIN_SWEEP_SECONDS, retention_seconds // 4))

    def due(self, oldest: float) -> float:
        """When a sweep can first forget the oldest remembered article (watermark time), rounded
        up to the sweep period."""
        span = oldest + self.retention_seconds + self.lateness_seconds
        return math.ceil(span / self.every_seconds) * self.every_seconds

    def horizon(self, fired: float) -> float:
        """What a sweep firing at ``fired`` may forget before: what a late record may still need stays."""
        return fired - self.lateness_seconds

    def next_after(self, oldest: float, fired: float) -> float:
        """The next sweep after one at ``fired``: strictly later, since a timer set for the time
        it fires at would fire forever."""
        return max(self.due(oldest), fired + self.every_seconds)


@dataclass(frozen=True)
class Sweep:
    """What one sweep did to the index, and what the log should become."""

    horizon: float
    forgotten: int  # articles forgotten by this sweep
    remembered: int  # articles the index still holds
    stale: int  # forgotten records still in the log after this sweep
    compacted: list[bytes] | None  # the whole new log, when the log is to be rewritten; else None


def needs_compaction(stale: int, live: int) -> bool:
    """Rewrite the log once it holds more forgotten records than live ones: rarely enough that
    a long replay does not rewrite it at every sweep, often enough to keep it a few windows long."""
    return stale > live


def sweep(index: StoryIndex, horizon: float, stale: int) -> Sweep:
    """Forget what is older than the window before ``horizon`` and decide whether the log
    (holding ``stale`` forgotten records before this sweep) is rewritten from the index."""
    forgotten = len(index.expire(horizon))
    dead = stale + forgotten
    if needs_compaction(dead, len(index)):
        return Sweep(horizon, forgotten, len(index), 0, pack_all(index.snapshot()))
    return Sweep(horizon, forgotten, len(index), dead, None)
