"""Which input offsets have all their outputs written, and their commit for the consumer group.

After each bundle's flush the sink checks every send, and hands the input offsets it has fully
written to an ``OffsetLedger``, which joins them per partition and commits the contiguous prefix
at once (so the group's lag reaches 0 as soon as the last record is written).

Why a ledger in the worker and not keyed state: the sink runs fused after the story index, a
single-key stage, so every result of the job passes through one worker; and Prism 2.77 was seen
to lose read-modify-write updates of a keyed committer's state under a steady stream (commit
points stalled at lag 1,752 of 3,000 after every record was written). The ledger never commits
an offset whose records are not all written; a worker that sees only part of the ranges commits
less, never more.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable

from apache_beam.metrics import Metrics
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from transforms.beam.common import METRICS_NAMESPACE

log = logging.getLogger(__name__)


def merge_settled(next_offset: int, pending: dict[int, int], covers_from: int, end: int) -> tuple[int, dict[int, int]]:
    """Join a settled range [covers_from, end) into the pending ones; return the new commit point
    (every offset below it is settled) and what is still pending. Pure, so that the at-least-once
    bookkeeping is testable without a broker."""
    pending = dict(pending)
    if end <= next_offset:
        return next_offset, pending  # settled before: a re-delivery
    pending[covers_from] = max(end, pending.get(covers_from, end))
    absorbed = True
    while absorbed:
        absorbed = False
        for start in sorted(pending):
            if start <= next_offset:
                next_offset = max(next_offset, pending.pop(start))
                absorbed = True
    return next_offset, pending


class OffsetLedger:
    """Per partition of the input, the offset below which every record's outputs are written;
    commits it for the group as soon as it moves. Thread-safe: the sink's bundles run in parallel."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._lock = threading.Lock()
        self._positions: dict[str, tuple[int, dict[int, int]]] = {}
        self._committed: dict[str, int] = {}
        self._consumer: KafkaConsumer | None = None
        self._failing_since: float | None = None

    def start_at(self, starts: dict[str, int]) -> None:
        """Where each partition's reading starts (``topic/partition`` -> offset): the commit point
        before anything is written."""
        with self._lock:
            for key, offset in starts.items():
                self._positions.setdefault(key, (offset, {}))

    def settle(self, ranges: Iterable[tuple[str, int, int]]) -> dict[str, int]:
        """Record written ranges [covers_from, end); commit what became contiguous. Returns the
        commit points sent to the broker."""
        with self._lock:
            for key, covers_from, end in ranges:
                position, pending = self._positions.get(key, (covers_from, {}))
                self._positions[key] = merge_settled(position, pending, covers_from, end)
            return self._commit()

    def retry(self) -> dict[str, int]:
        """Commit what an earlier failed commit (broker away) left behind; skipped while a sink
        is committing anyway."""
        if not self._lock.acquire(blocking=False):
            return {}
        try:
            return self._commit()
        finally:
            self._lock.release()

    def positions(self) -> dict[str, int]:
        """Per partition, the offset below which everything is written (the reader's back-pressure
        compares its own position with it)."""
        with self._lock:
            return {key: position for key, (position, _) in self._positions.items()}

    def _commit(self) -> dict[str, int]:
        due = {k: p for k, (p, _) in self._positions.items() if p > self._committed.get(k, -1)}
        if not due:
            return {}
        offsets = {}
        for key, position in due.items():
            topic, partition = key.rsplit("/", 1)
            offsets[TopicPartition(topic, int(partition))] = OffsetAndMetadata(position, "", -1)
        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False
                )
            self._consumer.commit(offsets, timeout_ms=10_000)
        except KafkaError as error:  # the broker is away: keep the positions, commit later
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                log.warning("cannot commit offsets for group %s yet (%s); will retry", self._group, error)
            return {}
        if self._failing_since is not None:
            log.warning("offsets committed again for group %s", self._group)
            self._failing_since = None
        for key, position in due.items():
            Metrics.counter(METRICS_NAMESPACE, "offsets_committed").inc(position - self._committed.get(key, position))
        self._committed.update(due)
        return due

    def close(self) -> None:
        """Close the group's consumer; a later commit opens a new one."""
        with self._lock:
            if self._consumer is not None:
                with contextlib.suppress(Exception):
                    self._consumer.close()
                self._consumer = None


class LedgerRegistry:
    """The ledgers of one process, one per (bootstrap servers, consumer group): every sink instance
    of a job settles into the same ledger, and the reader reads its positions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ledgers: dict[tuple[str, str], OffsetLedger] = {}

    def ledger_for(self, bootstrap: str, group: str) -> OffsetLedger:
        """This process's ledger for a group, made on first use (by a sink's setup)."""
        with self._lock:
            return self._ledgers.setdefault((bootstrap, group), OffsetLedger(bootstrap, group))

    def find(self, bootstrap: str, group: str) -> OffsetLedger | None:
        """The group's ledger when a sink in this process has made one, else None."""
        with self._lock:
            return self._ledgers.get((bootstrap, group))

    def retry_commits(self) -> None:
        """Retry every ledger's failed commits (the driver's progress thread calls this while the
        broker comes back)."""
        with self._lock:
            ledgers = list(self._ledgers.values())
        for ledger in ledgers:
            ledger.retry()
