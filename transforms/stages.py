"""Thin Beam PTransforms around marsad's pure functions.

Every stage turns a failure on one element into a dead letter that names the stage and keeps the
element, so that one bad article never stops the job and none is lost without trace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Duration, Timestamp

from schemas.records import Alert, Article, DeadLetter, Event
from transforms.articles import RawRecord, event_time_ms, parse_record, read_file
from transforms.dedup import canonical_url, content_fingerprint, duplicate_of, first_of_story
from transforms.events import EventExtractor, EventType
from transforms.gazetteer import Entry, Gazetteer
from transforms.rules import AlertMatcher, Rule
from transforms.text import NormalizedText

log = logging.getLogger(__name__)

DEAD = "dead_letters"
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
            | "SplitReadFailures" >> beam.ParDo(_SplitDead()).with_outputs(DEAD, main="records")
        )


class _SplitDead(beam.DoFn):
    def process(self, element: RawRecord | DeadLetter) -> Iterable[Any]:
        _counter("read").inc()
        if isinstance(element, DeadLetter):
            yield beam.pvalue.TaggedOutput(DEAD, element)
        else:
            yield element


class _ParseDoFn(beam.DoFn):
    def process(self, record: RawRecord) -> Iterable[Any]:
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
    publication time, else arrival), and parse-stage dead letters (``DEAD``)."""

    def expand(self, records: beam.PCollection[RawRecord]) -> beam.pvalue.DoOutputsTuple:
        return records | beam.ParDo(_ParseDoFn()).with_outputs(DEAD, main="articles")


class _FirstSeenDoFn(beam.DoFn):
    """Per key, the first article within the retention window is unique and later ones are its
    duplicates. The state expires with an event-time timer so memory stays bounded."""

    FIRST = ReadModifyWriteStateSpec("first", PickleCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, retention_seconds: int) -> None:
        self._retention = Duration(seconds=retention_seconds)

    def process(
        self,
        element: tuple[str, Article],
        timestamp: Timestamp = beam.DoFn.TimestampParam,
        first: Any = beam.DoFn.StateParam(FIRST),
        expiry: Any = beam.DoFn.TimerParam(EXPIRY),
    ) -> Iterable[Any]:
        _, article = element
        seen = first.read()
        if seen is None:
            dedup = article.dedup if article.dedup and article.dedup.status != "unique" else first_of_story(article)
            first.write((article.id, dedup.story_id))
            expiry.set(timestamp + self._retention)
            yield dataclasses.replace(article, dedup=dedup)
            return
        original_id, story_id = seen
        if original_id == article.id:  # the same article delivered again (at-least-once input)
            yield dataclasses.replace(article, dedup=first_of_story(article))
            return
        yield dataclasses.replace(article, dedup=duplicate_of(original_id, story_id))

    @on_timer(EXPIRY)
    def expire(self, first: Any = beam.DoFn.StateParam(FIRST)) -> None:
        first.clear()


def _keyed_by(key_fn: Callable[[Article], str | None], stage: str) -> beam.DoFn:
    class _KeyDoFn(beam.DoFn):
        def process(self, article: Article) -> Iterable[Any]:
            try:
                key = key_fn(article)
            except Exception as error:
                yield beam.pvalue.TaggedOutput(DEAD, _stage_failure(stage, article, error))
                return
            if key is None:
                yield beam.pvalue.TaggedOutput("unkeyed", article)
            else:
                yield (key, article)

    return _KeyDoFn()


class Deduplicate(beam.PTransform):
    """Exact duplicates: same folded body, or same canonical URL, within the retention window.

    Output ``articles``: every input article once, with its ``dedup`` record; ``DEAD``: failures.
    """

    def __init__(self, retention_seconds: int) -> None:
        super().__init__()
        self._retention_seconds = retention_seconds

    def expand(self, articles: beam.PCollection[Article]) -> dict[str, beam.PCollection]:
        by_body = articles | "KeyByBody" >> beam.ParDo(_keyed_by(content_fingerprint, "dedup")).with_output_types(
            tuple[str, Article]
        ).with_outputs(DEAD, "unkeyed", main="keyed")
        body_checked = by_body.keyed | "FirstBody" >> beam.ParDo(_FirstSeenDoFn(self._retention_seconds))
        unique_bodies, body_duplicates = body_checked | "ByBodyStatus" >> beam.Partition(
            lambda a, _: 0 if a.dedup.status == "unique" else 1, 2
        )
        by_url = unique_bodies | "KeyByUrl" >> beam.ParDo(
            _keyed_by(lambda a: canonical_url(a.url), "dedup")
        ).with_output_types(tuple[str, Article]).with_outputs(DEAD, "unkeyed", main="keyed")
        url_checked = by_url.keyed | "FirstUrl" >> beam.ParDo(_FirstSeenDoFn(self._retention_seconds))
        deduplicated = (
            url_checked,
            by_url.unkeyed,
            body_duplicates,
        ) | "AllArticles" >> beam.Flatten()
        dead = (
            by_body[DEAD],
            by_url[DEAD],
            by_body.unkeyed | "NoBodyKey" >> beam.Map(_no_key),
        ) | "DedupDead" >> beam.Flatten()
        return {"articles": deduplicated, DEAD: dead}


def _no_key(article: Article) -> DeadLetter:
    # content_fingerprint never returns None; an article reaching here is a bug worth seeing.
    return DeadLetter(
        reason="no content fingerprint",
        stage="dedup",
        origin={**(article.origin or {}), "article_id": article.id},
        raw=article.to_json().decode(),
        article_id=article.id,
    )


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


class _AnalyzeDoFn(beam.DoFn):
    def __init__(self, rules: Sequence[Rule], event_types: Sequence[EventType], entries: Sequence[Entry]) -> None:
        self._rules = list(rules)
        self._event_types = list(event_types)
        self._entries = list(entries)
        self._alerts: AlertMatcher | None = None
        self._events: EventExtractor | None = None

    def setup(self) -> None:
        # Compiled once per worker from the rules' data, not pickled with the DoFn.
        self._alerts = AlertMatcher(self._rules)
        self._events = EventExtractor(self._event_types, Gazetteer(self._entries))

    def process(self, article: Article) -> Iterable[ArticleResult]:
        assert self._alerts is not None and self._events is not None
        _counter(article.dedup.status if article.dedup else "unknown").inc()
        if article.dedup is None or article.dedup.status != "unique":
            # Each story is reported once: alerts and events come from its first article.
            yield ArticleResult(article)
            return
        story = article.dedup.story_id
        alerts: list[Alert] = []
        events: list[Event] = []
        errors: list[DeadLetter] = []
        try:
            alerts = self._alerts.alerts(article, _fields_of(article), _now_iso(), story)
        except Exception as error:
            errors.append(_stage_failure("alerts", article, error))
        try:
            if article.body:
                events = self._events.extract(article, NormalizedText(article.body), story)
        except Exception as error:
            errors.append(_stage_failure("events", article, error))
        _counter("alerts").inc(len(alerts))
        _counter("events").inc(len(events))
        _counter("stage_errors").inc(len(errors))
        yield ArticleResult(article, tuple(alerts), tuple(events), tuple(errors))


class AnalyzeArticles(beam.PTransform):
    """Deduplicated articles -> ArticleResults: alerts and events of each story's first article."""

    def __init__(self, rules: Sequence[Rule], event_types: Sequence[EventType], entries: Sequence[Entry]) -> None:
        super().__init__()
        self._dofn = _AnalyzeDoFn(rules, event_types, entries)

    def expand(self, articles: beam.PCollection[Article]) -> beam.PCollection[ArticleResult]:
        return articles | beam.ParDo(self._dofn)


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
