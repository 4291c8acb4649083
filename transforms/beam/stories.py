"""The Stories step: the story index as one keyed stateful step, and the three steps from
Prepare to Events as one transform (``StoryClustering``).

The state is a log of the index's decisions (transforms/story_log.py says how it is packed,
swept and compacted); the StoryIndex in the worker is a cache of it, used only while it is
provably the state's (``story_log.Generation``) and rebuilt from the log otherwise.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from schemas.records import Article
from transforms import story_log
from transforms.beam.common import DEAD, METRICS_NAMESPACE, SWEPT, counter, stage_failure
from transforms.beam.events import ExtractEvents
from transforms.beam.prepare import PrepareArticles, _Prepared
from transforms.event_triggers import EventCues, EventType
from transforms.gazetteer import Entry
from transforms.rules import Rule
from transforms.stories import DEFAULT_THRESHOLDS, StoryIndex, Thresholds


class IndexSlot:
    """One story step's index in this worker process, the generation of the state it reflects,
    and the lock its users hold."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.index: StoryIndex | None = None
        self.generation: story_log.Generation | None = None


class WorkerIndexCache:
    """The story indexes of this worker process: one per story step, shared by every copy of
    that step's DoFn and used under the slot's lock.

    Why per process and not per DoFn copy checked against the state: Prism 2.77 was seen to hand
    a stateful step's bundles for the same key to two copies at once with the same state, and
    each then decided without the other's articles (pairs of identical articles both
    ``unique``; with a generation check, each copy saw only its own writes in the state: they
    alternate, one history each). So on runners that never restore state under a living worker
    (Prism, the DirectRunner: state dies with the process) the slot's index is trusted. Where
    state is restored (Flink: a TaskManager failover under a worker that outlived it, a
    savepoint) the slot's index is used only while its generation is the state's: a restored
    state is older than the cache, and the index is rebuilt from its log.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, IndexSlot] = {}

    def slot(self, step_id: str) -> IndexSlot:
        """The slot of one story step (``step_id`` is the same in every copy of the step)."""
        with self._lock:
            return self._slots.setdefault(step_id, IndexSlot())


WORKER_INDEXES = WorkerIndexCache()


def _seconds(timestamp: Timestamp) -> float:
    return timestamp.micros / 1e6


class _StoryDoFn(beam.DoFn):
    """The story index as keyed state. The log of decisions (BagState) is the state; the
    StoryIndex in the worker is a cache rebuilt from it when the worker has none
    (``WORKER_INDEXES``). An event-time timer sweeps out what the retention window no longer
    covers, at most every quarter of the window (18 h by default); the log is compacted when it
    holds more forgotten records than live ones (``story_log.sweep``).

    A sweep at watermark W forgets only what is older than W - retention - allowed lateness
    (default: one retention window): a record that arrives behind the watermark (a partition
    not in publication order, a slow partition) is still judged against every article within
    the retention window of its own time, as in batch, if it is at most that late. Later ones are
    judged against what is left and counted (``late_beyond_margin``)."""

    LOG = BagStateSpec("log", BytesCoder())  # story_log.pack'ed records
    LOG_SIZE = ReadModifyWriteStateSpec("log_size", PickleCoder())
    GENERATION = ReadModifyWriteStateSpec("generation", PickleCoder())  # story_log.Generation
    SWEPT_UNTIL = ReadModifyWriteStateSpec("swept_until", PickleCoder())
    STALE = ReadModifyWriteStateSpec("stale", PickleCoder())  # forgotten records still in the log
    SWEEP_AT = ReadModifyWriteStateSpec("sweep_at", PickleCoder())
    SWEEP = TimerSpec("sweep", TimeDomain.WATERMARK)

    def __init__(
        self,
        retention_seconds: int,
        thresholds: Thresholds,
        allowed_lateness_seconds: int | None = None,
        check_worker_index: bool = True,
    ) -> None:
        self._retention = retention_seconds
        self._schedule = story_log.SweepSchedule.for_retention(retention_seconds, allowed_lateness_seconds)
        self._thresholds = thresholds
        self._step_id = uuid.uuid4().hex  # the same in every copy of this step in a worker
        self._check = check_worker_index

    def _index_for(self, slot: IndexSlot, log: Any, swept_until: float, generation: Any) -> StoryIndex:
        """The worker's index when it is the state's (same generation), else rebuilt from the log."""
        stored = generation.read()
        if slot.index is None or (self._check and not story_log.cache_matches(slot.generation, stored)):
            if slot.index is not None:
                counter("story_index_rebuilt").inc()  # a restored (or otherwise diverged) state
            slot.index = story_log.rebuild(log.read(), self._retention, self._thresholds, swept_until)
            slot.generation = stored or story_log.FIRST_GENERATION
        return slot.index

    @staticmethod
    def _advance(slot: IndexSlot, generation: Any, log_size: int) -> None:
        """Marks a change of the state: a new generation in the state and in the slot."""
        current = slot.generation or story_log.FIRST_GENERATION
        slot.generation = current.next(log_size)
        generation.write(slot.generation)

    def _schedule_sweep(self, due: float, sweep_at: Any, sweep: Any) -> None:
        sweep.set(Timestamp(seconds=due))
        sweep_at.write(due)

    def process(
        self,
        element: tuple[str, _Prepared],
        timestamp: Any = beam.DoFn.TimestampParam,  # the element's Timestamp
        log: Any = beam.DoFn.StateParam(LOG),
        log_size: Any = beam.DoFn.StateParam(LOG_SIZE),
        generation: Any = beam.DoFn.StateParam(GENERATION),
        swept_until: Any = beam.DoFn.StateParam(SWEPT_UNTIL),
        sweep_at: Any = beam.DoFn.StateParam(SWEEP_AT),
        sweep: Any = beam.DoFn.TimerParam(SWEEP),
    ) -> Iterable[Any]:
        """The article with its dedup decision and its story's alert revisions, or a ``dedup``
        dead letter (``DEAD``); appends the index's new records to the log."""
        _, prepared = element
        slot = WORKER_INDEXES.slot(self._step_id)
        with slot.lock:
            yield from self._decide(
                prepared, _seconds(timestamp), slot, log, log_size, generation, swept_until, sweep_at, sweep
            )

    def _decide(
        self, prepared: _Prepared, moment: float, slot: IndexSlot, log: Any, log_size: Any,
        generation: Any, swept_until: Any, sweep_at: Any, sweep: Any,
    ) -> Iterable[Any]:  # fmt: skip
        size = log_size.read() or 0
        until = swept_until.read() or 0.0
        index = self._index_for(slot, log, until, generation)
        article = prepared.article
        if story_log.is_late(moment, until):
            counter("late_beyond_margin").inc()  # part of its window was already forgotten
        try:
            created_before = index.stories_created
            dedup = index.decide(
                article.id, moment, prepared.fingerprint, prepared.url, prepared.signature, article.source
            )
            alerts = tuple(index.story_alert(alert, dedup.story_id) for alert in prepared.alerts)
        except Exception as error:
            yield beam.pvalue.TaggedOutput(DEAD, stage_failure("dedup", article, error))
            return
        new_records = story_log.pack_all(index.drain_log())
        if new_records:  # a re-delivery changes nothing: the state keeps its generation
            for record in new_records:
                log.add(record)
            log_size.write(size + len(new_records))
            self._advance(slot, generation, size + len(new_records))
        counter("stories").inc(index.stories_created - created_before)
        Metrics.distribution(METRICS_NAMESPACE, "state_bytes_per_article").update(index.last_entry_bytes)
        oldest = index.oldest()
        if oldest is not None:
            due = self._schedule.due(oldest)
            scheduled = sweep_at.read()
            if scheduled is None or due < scheduled:
                self._schedule_sweep(due, sweep_at, sweep)
        yield _Prepared(dataclasses.replace(article, dedup=dedup), prepared.fingerprint, prepared.url,
                        prepared.signature, alerts, prepared.stage_errors)  # fmt: skip

    @on_timer(SWEEP)
    def sweep(
        self,
        fired_at: Any = beam.DoFn.TimestampParam,  # the timer's Timestamp
        log: Any = beam.DoFn.StateParam(LOG),
        log_size: Any = beam.DoFn.StateParam(LOG_SIZE),
        generation: Any = beam.DoFn.StateParam(GENERATION),
        swept_until: Any = beam.DoFn.StateParam(SWEPT_UNTIL),
        stale: Any = beam.DoFn.StateParam(STALE),
        sweep_at: Any = beam.DoFn.StateParam(SWEEP_AT),
        sweep: Any = beam.DoFn.TimerParam(SWEEP),
    ) -> Iterable[Any]:
        """Forgets what the window no longer covers, compacts the log when due, sets the next
        sweep, and reports what it did (``SWEPT``: for monitoring memory, and for tests)."""
        slot = WORKER_INDEXES.slot(self._step_id)
        with slot.lock:
            index = self._index_for(slot, log, swept_until.read() or 0.0, generation)
            fired = _seconds(fired_at)
            done = story_log.sweep(index, self._schedule.horizon(fired), stale.read() or 0)
            swept_until.write(done.horizon)
            if done.compacted is not None:
                log.clear()
                for record in done.compacted:
                    log.add(record)
                log_size.write(len(done.compacted))
            stale.write(done.stale)
            self._advance(slot, generation, len(done.compacted) if done.compacted is not None else log_size.read() or 0)
            sweep_at.clear()
            oldest = index.oldest()
            if oldest is not None:
                self._schedule_sweep(self._schedule.next_after(oldest, fired), sweep_at, sweep)
            yield beam.pvalue.TaggedOutput(SWEPT, (fired, done.forgotten, done.remembered))


class AssignStories(beam.PTransform):
    """Prepared articles -> (``decided``: with dedup status, story and the revisions of their
    stories' alerts; ``DEAD``: failures; ``SWEPT``: what each sweep of the index forgot).

    The story index is one keyed stateful step, because "have we seen this before?" is a
    question about everything seen: its cost per article bounds the whole job's throughput
    (measured by ``python -m benchmarks``: LSH lookups and inserts, well under a millisecond)."""

    def __init__(
        self, retention_seconds: int, thresholds: Thresholds = DEFAULT_THRESHOLDS, check_worker_index: bool = True
    ) -> None:
        """``check_worker_index``: False only on runners that never restore state under a living
        worker (Prism, the DirectRunner); see ``_StoryDoFn``."""
        super().__init__()
        self._stories = _StoryDoFn(retention_seconds, thresholds, check_worker_index=check_worker_index)

    def expand(self, keyed: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        """Applies the story DoFn with its dead-letter and sweep outputs."""
        return keyed | beam.ParDo(self._stories).with_outputs(DEAD, SWEPT, main="decided")


class StoryClustering(beam.PTransform):
    """Prepare -> Stories -> Events as one transform: Articles -> (``results``: one ArticleResult
    per article; ``DEAD``: failures; ``SWEPT``). The pipeline graph applies the three steps by
    name (pipelines/graph.py); this is for tests and callers that want them together."""

    def __init__(
        self,
        rules: Sequence[Rule],
        event_types: Sequence[EventType],
        entries: Sequence[Entry],
        retention_seconds: int,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        event_cues: EventCues | None = None,
    ) -> None:
        super().__init__()
        self._prepare = PrepareArticles(rules)
        self._stories = AssignStories(retention_seconds, thresholds)
        self._events = ExtractEvents(event_types, entries, event_cues)

    def expand(self, articles: beam.PCollection[Article]) -> dict[str, beam.PCollection]:
        """Applies the three steps and gathers their dead letters."""
        prepared = articles | "Prepare" >> self._prepare
        decided = prepared.keyed | "Stories" >> self._stories
        results = decided.decided | "Events" >> self._events
        dead = (prepared[DEAD], decided[DEAD]) | "StoryDead" >> beam.Flatten()
        return {"results": results, DEAD: dead, SWEPT: decided[SWEPT]}
