"""Thin Beam PTransforms around marsad's pure functions.

Every stage turns a failure on one element into a dead letter that names the stage and keeps the
element, so that one bad article never stops the job and none is lost without trace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import pickle
import threading
import traceback
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from schemas.records import Alert, Article, DeadLetter, Event
from transforms.articles import DEFAULT_MAX_ARTICLE_BYTES, RawRecord, event_time_ms, parse_record, read_file, too_large
from transforms.dedup import canonical_url, content_fingerprint
from transforms.events import EventCues, EventExtractor, EventType
from transforms.gazetteer import Entry, Gazetteer
from transforms.rules import AlertMatcher, Rule
from transforms.similarity import Signature, signature
from transforms.stories import DEFAULT_THRESHOLDS, StoryIndex, Thresholds
from transforms.text import NormalizedText

log = logging.getLogger(__name__)

DEAD = "dead_letters"
SWEPT = "swept"  # (event time, articles forgotten, articles remembered) per sweep of the story index
METRICS_NAMESPACE = "marsad"


def _counter(name: str) -> Any:
    return Metrics.counter(METRICS_NAMESPACE, name)


def _stage_failure(stage: str, article: Article, error: Exception) -> DeadLetter:
    return DeadLetter(
        reason=f"{type(error).__name__}: {error}",
        stage=stage,
        origin={**(article.origin or {}), "article_id": article.id, "traceback": traceback.format_exc(limit=4)},
        raw=article.to_json().decode("utf-8"),
        article_id=article.id,
    )


class ReadArticleFiles(beam.PTransform):
    """Article files -> RawRecords (main output) and read-stage dead letters (``DEAD``)."""

    def __init__(self, files: Sequence[str]) -> None:
        super().__init__()
        self._files = list(files)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            # No reshuffle here: records keep file order into dedup, so on one worker the first
            # copy read is the one kept. The keyed dedup stage spreads the work on a cluster.
            | "ReadRecords" >> beam.FlatMap(read_file)
            | "SplitReadFailures" >> beam.ParDo(SplitReadFailures()).with_outputs(DEAD, main="records")
        )


class SplitReadFailures(beam.DoFn):
    """Counts every record read (files or Kafka) and sends read-stage dead letters to ``DEAD``."""

    def process(self, element: RawRecord | DeadLetter) -> Iterable[Any]:
        _counter("read").inc()
        if isinstance(element, DeadLetter):
            yield beam.pvalue.TaggedOutput(DEAD, element)
        else:
            yield element


class _ParseDoFn(beam.DoFn):
    def __init__(self, max_article_bytes: int) -> None:
        self._max_bytes = max_article_bytes

    def process(self, record: RawRecord) -> Iterable[Any]:
        oversized = too_large(record.payload, record.origin, self._max_bytes)
        if oversized is not None:
            _counter("too_large").inc()
            yield beam.pvalue.TaggedOutput(DEAD, oversized)
            return
        result = parse_record(record)
        if isinstance(result, DeadLetter):
            yield beam.pvalue.TaggedOutput(DEAD, result)
            return
        # The transport's timestamp when there is one: a Kafka source's watermark follows it, and
        # `marsad replay` sets it to the publication time. Files: the publication time.
        millis = record.timestamp_ms if record.timestamp_ms is not None else event_time_ms(result)
        moment = Timestamp.of(millis / 1000) if millis is not None else Timestamp.now()
        yield beam.window.TimestampedValue(result, moment)


class ParseArticles(beam.PTransform):
    """RawRecords -> Articles stamped with their event time (the transport's timestamp, else the
    publication time, else arrival), and parse-stage dead letters (``DEAD``). A record over
    ``max_article_bytes`` becomes a ``too_large`` dead letter before anything else looks at it."""

    def __init__(self, max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> None:
        super().__init__()
        self._max_bytes = max_article_bytes

    def expand(self, records: beam.PCollection[RawRecord]) -> beam.pvalue.DoOutputsTuple:
        return records | beam.ParDo(_ParseDoFn(self._max_bytes)).with_outputs(DEAD, main="articles")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _fields_of(article: Article) -> dict[str, NormalizedText]:
    return {name: NormalizedText(text) for name, text in (("title", article.title), ("body", article.body)) if text}


@dataclasses.dataclass(frozen=True)
class ArticleResult:
    """Everything the pipeline made of one article, kept together so that a sink can write all of
    it before it acknowledges the article's input (offset commits depend on that)."""

    article: Article
    alerts: tuple[Alert, ...] = ()
    events: tuple[Event, ...] = ()
    stage_errors: tuple[DeadLetter, ...] = ()


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """An article with what the (parallel) preparation computed for the story stage."""

    article: Article
    fingerprint: str
    url: str | None
    signature: Signature
    alerts: tuple[Alert, ...]
    stage_errors: tuple[DeadLetter, ...]


class _PrepareDoFn(beam.DoFn):
    """The expensive, parallel part: fingerprints, MinHash signatures, rule matching."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = list(rules)
        self._matcher: AlertMatcher | None = None

    def setup(self) -> None:
        self._matcher = AlertMatcher(self._rules)  # compiled once per worker, not pickled

    def process(self, article: Article) -> Iterable[Any]:
        assert self._matcher is not None
        # Normalised and tokenised once, shared by signatures and rule matching.
        fields = _fields_of(article)
        try:
            prepared_signature = signature(article.title, article.body, fields.get("title"), fields.get("body"))
            fingerprint = content_fingerprint(article)
            url = canonical_url(article.url)
        except Exception as error:
            yield beam.pvalue.TaggedOutput(DEAD, _stage_failure("dedup", article, error))
            return
        alerts: list[Alert] = []
        errors: list[DeadLetter] = []
        try:
            alerts = self._matcher.alerts(article, fields, _now_iso())
        except Exception as error:
            errors.append(_stage_failure("alerts", article, error))
        prepared = _Prepared(article, fingerprint, url, prepared_signature, tuple(alerts), tuple(errors))
        # One key: the story index sees every article (see AssignStories).
        yield ("stories", prepared)


def _pack(record: tuple) -> bytes:
    return pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)


def _seconds(timestamp: Timestamp) -> float:
    return timestamp.micros / 1e6


class _SharedIndex:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.index: StoryIndex | None = None


_SHARED_INDEXES: dict[str, _SharedIndex] = {}
_SHARED_LOCK = threading.Lock()


class _StoryDoFn(beam.DoFn):
    """The story index as keyed state. The log of decisions (BagState) is the state; the
    StoryIndex in the worker is a cache rebuilt from it whenever it is not known to match (a
    new worker, a retried bundle). An event-time timer sweeps out what the retention window no
    longer covers, at most every quarter of the window (18 h by default). The log is rewritten
    only when it holds more forgotten records than live ones (a rebuild replays it and forgets
    up to the last sweep), so memory stays bounded by a few windows of articles and a batch
    replay of months of archive does not rewrite the whole log at every sweep.

    A sweep at watermark W forgets only what is older than W - retention - allowed lateness
    (default: one retention window): a record that arrives behind the watermark (a partition
    not in publication order, a slow partition) is still judged against every article within
    the retention window of its own time, as in batch, if it is at most that late. Later ones are
    judged against what is left and counted (``late_beyond_margin``)."""

    # Each log record is kept pickled: one bytes object per record, which the runner's state
    # cache sizes at a glance (it walks object graphs, and a record's signature and alert
    # objects made that walk a large part of the step's cost).
    LOG = BagStateSpec("log", BytesCoder())
    LOG_SIZE = ReadModifyWriteStateSpec("log_size", PickleCoder())
    SWEPT_UNTIL = ReadModifyWriteStateSpec("swept_until", PickleCoder())
    STALE = ReadModifyWriteStateSpec("stale", PickleCoder())  # forgotten records still in the log
    SWEEP_AT = ReadModifyWriteStateSpec("sweep_at", PickleCoder())
    SWEEP = TimerSpec("sweep", TimeDomain.WATERMARK)

    def __init__(
        self, retention_seconds: int, thresholds: Thresholds, allowed_lateness_seconds: int | None = None
    ) -> None:
        self._retention = retention_seconds
        self._lateness = retention_seconds if allowed_lateness_seconds is None else allowed_lateness_seconds
        self._sweep_every = max(3600, retention_seconds // 4)
        self._thresholds = thresholds
        self._shared_id = uuid.uuid4().hex  # the same in every copy of this step in a worker

    def _due(self, oldest: float) -> float:
        """When a sweep can first forget the oldest remembered article (watermark time)."""
        return math.ceil((oldest + self._retention + self._lateness) / self._sweep_every) * self._sweep_every

    def _shared(self) -> _SharedIndex:
        with _SHARED_LOCK:
            return _SHARED_INDEXES.setdefault(self._shared_id, _SharedIndex())

    def _index_for(self, shared: _SharedIndex, log: Any, swept_until: float) -> StoryIndex:
        """The worker's index, rebuilt from the state's log when the worker has none. One index
        per worker and step, used under a lock, rather than one per DoFn copy checked against
        the state: Prism 2.77 was seen to hand a stateful step's bundles for the same key to two
        copies at once with the same state, and each then decided without the other's articles
        (pairs of identical articles both ``unique``)."""
        if shared.index is None:
            shared.index = StoryIndex(self._retention, self._thresholds)
            for record in log.read():
                shared.index.replay(pickle.loads(record))
            if swept_until:
                shared.index.expire(swept_until)
        return shared.index

    def process(
        self,
        element: tuple[str, _Prepared],
        timestamp: Timestamp = beam.DoFn.TimestampParam,
        log: Any = beam.DoFn.StateParam(LOG),
        log_size: Any = beam.DoFn.StateParam(LOG_SIZE),
        swept_until: Any = beam.DoFn.StateParam(SWEPT_UNTIL),
        sweep_at: Any = beam.DoFn.StateParam(SWEEP_AT),
        sweep: Any = beam.DoFn.TimerParam(SWEEP),
    ) -> Iterable[Any]:
        _, prepared = element
        shared = self._shared()
        with shared.lock:
            yield from self._decide(prepared, timestamp, shared, log, log_size, swept_until, sweep_at, sweep)

    def _decide(
        self, prepared: _Prepared, timestamp: Timestamp, shared: _SharedIndex, log: Any, log_size: Any,
        swept_until: Any, sweep_at: Any, sweep: Any,
    ) -> Iterable[Any]:  # fmt: skip
        size = log_size.read() or 0
        until = swept_until.read() or 0.0
        index = self._index_for(shared, log, until)
        article = prepared.article
        if until and _seconds(timestamp) < until:
            _counter("late_beyond_margin").inc()  # part of its window was already forgotten
        try:
            created_before = index.stories_created
            dedup = index.decide(
                article.id, _seconds(timestamp), prepared.fingerprint, prepared.url, prepared.signature, article.source
            )
            alerts = tuple(index.story_alert(alert, dedup.story_id) for alert in prepared.alerts)
        except Exception as error:
            yield beam.pvalue.TaggedOutput(DEAD, _stage_failure("dedup", article, error))
            return
        new_records = index.drain_log()
        for record in new_records:
            log.add(_pack(record))
        size += len(new_records)
        log_size.write(size)
        _counter("stories").inc(index.stories_created - created_before)
        Metrics.distribution(METRICS_NAMESPACE, "state_bytes_per_article").update(index.last_entry_bytes)
        # Sweep when the oldest remembered article leaves the window, rounded up to the sweep period.
        oldest = index.oldest()
        if oldest is not None:
            due = self._due(oldest)
            scheduled = sweep_at.read()
            if scheduled is None or due < scheduled:
                sweep.set(Timestamp(seconds=due))
                sweep_at.write(due)
        yield _Prepared(dataclasses.replace(article, dedup=dedup), prepared.fingerprint, prepared.url,
                        prepared.signature, alerts, prepared.stage_errors)  # fmt: skip

    @on_timer(SWEEP)
    def sweep(
        self,
        fired_at: Timestamp = beam.DoFn.TimestampParam,
        log: Any = beam.DoFn.StateParam(LOG),
        log_size: Any = beam.DoFn.StateParam(LOG_SIZE),
        swept_until: Any = beam.DoFn.StateParam(SWEPT_UNTIL),
        stale: Any = beam.DoFn.StateParam(STALE),
        sweep_at: Any = beam.DoFn.StateParam(SWEEP_AT),
        sweep: Any = beam.DoFn.TimerParam(SWEEP),
    ) -> Iterable[Any]:
        shared = self._shared()
        with shared.lock:
            yield from self._sweep(fired_at, shared, log, log_size, swept_until, stale, sweep_at, sweep)

    def _sweep(
        self, fired_at: Timestamp, shared: _SharedIndex, log: Any, log_size: Any, swept_until: Any, stale: Any,
        sweep_at: Any, sweep: Any,
    ) -> Iterable[Any]:  # fmt: skip
        size = log_size.read() or 0
        index = self._index_for(shared, log, swept_until.read() or 0.0)
        fired = _seconds(fired_at)
        now = fired - self._lateness  # the horizon: what a late record may still need stays
        forgotten = index.expire(now)
        swept_until.write(now)
        dead = (stale.read() or 0) + len(forgotten)
        if dead > len(index):
            survivors = index.snapshot()
            log.clear()
            for record in survivors:
                log.add(_pack(record))
            size, dead = len(survivors), 0
            log_size.write(size)
        stale.write(dead)
        sweep_at.clear()
        oldest = index.oldest()
        if oldest is not None:
            # Strictly later than now: a timer set for the time it fires at would fire forever.
            due = max(self._due(oldest), fired + self._sweep_every)
            sweep.set(Timestamp(seconds=due))
            sweep_at.write(due)
        # What the sweep did, for monitoring memory (and for tests).
        yield beam.pvalue.TaggedOutput(SWEPT, (fired, len(forgotten), len(index)))


class _EventsDoFn(beam.DoFn):
    def __init__(self, event_types: Sequence[EventType], entries: Sequence[Entry], cues: EventCues | None) -> None:
        self._event_types = list(event_types)
        self._entries = list(entries)
        self._cues = cues
        self._extractor: EventExtractor | None = None

    def setup(self) -> None:
        self._extractor = EventExtractor(self._event_types, Gazetteer(self._entries), self._cues)

    def process(self, prepared: _Prepared) -> Iterable[ArticleResult]:
        assert self._extractor is not None
        article = prepared.article
        _counter(article.dedup.status if article.dedup else "unknown").inc()
        _counter("alert_revisions").inc(len(prepared.alerts))
        _counter("alerts").inc(sum(1 for alert in prepared.alerts if alert.revision == 1))
        events: list[Event] = []
        errors = list(prepared.stage_errors)
        # A story's events come from its articles with new text: copies and reprints add none.
        if article.dedup is not None and article.dedup.status == "unique" and article.body:
            try:
                events = self._extractor.extract(article, NormalizedText(article.body), article.dedup.story_id)
            except Exception as error:
                errors.append(_stage_failure("events", article, error))
        _counter("events").inc(len(events))
        _counter("stage_errors").inc(len(errors))
        yield ArticleResult(article, prepared.alerts, tuple(events), tuple(errors))


class PrepareArticles(beam.PTransform):
    """Articles -> (``keyed``: each with its fingerprint, canonical URL, MinHash signatures and
    rule matches, under the story index's key; ``DEAD``: failures). The expensive part of the
    work, and parallel: it scales with workers."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__()
        self._prepare = _PrepareDoFn(rules)

    def expand(self, articles: beam.PCollection[Article]) -> beam.pvalue.DoOutputsTuple:
        return articles | beam.ParDo(self._prepare).with_output_types(tuple[str, _Prepared]).with_outputs(
            DEAD, main="keyed"
        )


class AssignStories(beam.PTransform):
    """Prepared articles -> (``decided``: with dedup status, story and the revisions of their
    stories' alerts; ``DEAD``: failures; ``SWEPT``: what each sweep of the index forgot).

    The story index is one keyed stateful step, because "have we seen this before?" is a
    question about everything seen: its cost per article bounds the whole job's throughput
    (measured by ``python -m benchmarks``: LSH lookups and inserts, well under a millisecond)."""

    def __init__(self, retention_seconds: int, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        super().__init__()
        self._stories = _StoryDoFn(retention_seconds, thresholds)

    def expand(self, keyed: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return keyed | beam.ParDo(self._stories).with_outputs(DEAD, SWEPT, main="decided")


class ExtractEvents(beam.PTransform):
    """Decided articles -> one ArticleResult each (events from the first article of new text;
    copies and reprints add none). Parallel."""

    def __init__(self, event_types: Sequence[EventType], entries: Sequence[Entry], cues: EventCues | None) -> None:
        super().__init__()
        self._events = _EventsDoFn(event_types, entries, cues)

    def expand(self, decided: beam.PCollection) -> beam.PCollection[ArticleResult]:
        return decided | beam.ParDo(self._events)


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
        prepared = articles | "Prepare" >> self._prepare
        decided = prepared.keyed | "Stories" >> self._stories
        results = decided.decided | "Events" >> self._events
        dead = (prepared[DEAD], decided[DEAD]) | "StoryDead" >> beam.Flatten()
        return {"results": results, DEAD: dead, SWEPT: decided[SWEPT]}


def count_lost_article(dead: DeadLetter) -> DeadLetter:
    _counter("dead_letters").inc()
    return dead


RecordT = Article | Alert | Event | DeadLetter


def to_json_line(record: RecordT) -> str:
    return record.to_json().decode("utf-8")


class WriteJsonLines(beam.PTransform):
    """Records -> ``<prefix>-SSSSS-of-NNNNN.jsonl`` files."""

    def __init__(self, file_prefix: str) -> None:
        super().__init__()
        self._file_prefix = file_prefix

    def expand(self, records: beam.PCollection[RecordT]) -> beam.pvalue.PDone:
        return (
            records
            | "ToJson" >> beam.Map(to_json_line)
            | "Write" >> beam.io.WriteToText(self._file_prefix, file_name_suffix=".jsonl")
        )
