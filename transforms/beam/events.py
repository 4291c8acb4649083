"""The Events step: decided articles become one ArticleResult each, with the events of the
articles that bring new text. Parallel; it also counts what the run decided, article by article."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import apache_beam as beam

from schemas.records import ArticleResult, Event
from transforms.beam.common import counter, stage_failure
from transforms.beam.prepare import _Prepared
from transforms.event_triggers import EventCues, EventType
from transforms.events import EventExtractor
from transforms.gazetteer import Entry, Gazetteer
from transforms.text import NormalizedText


class _EventsDoFn(beam.DoFn):
    """Extracts events from one decided article and gathers its outputs into an ArticleResult."""

    def __init__(self, event_types: Sequence[EventType], entries: Sequence[Entry], cues: EventCues | None) -> None:
        self._event_types = list(event_types)
        self._entries = list(entries)
        self._cues = cues
        self._extractor: EventExtractor | None = None

    def setup(self) -> None:
        """Builds the gazetteer and extractor once per worker: they are not pickled with the DoFn."""
        self._extractor = EventExtractor(self._event_types, Gazetteer(self._entries), self._cues)

    def process(self, prepared: _Prepared) -> Iterable[ArticleResult]:
        """One ArticleResult; a failed extraction travels in it as a stage error."""
        assert self._extractor is not None
        article = prepared.article
        counter(article.dedup.status if article.dedup else "unknown").inc()
        counter("alert_revisions").inc(len(prepared.alerts))
        counter("alerts").inc(sum(1 for alert in prepared.alerts if alert.revision == 1))
        events: list[Event] = []
        errors = list(prepared.stage_errors)
        # A story's events come from its articles with new text: copies and reprints add none.
        if article.dedup is not None and article.dedup.status == "unique" and article.body:
            try:
                events = self._extractor.extract(article, NormalizedText(article.body), article.dedup.story_id)
            except Exception as error:
                errors.append(stage_failure("events", article, error))
        counter("events").inc(len(events))
        counter("stage_errors").inc(len(errors))
        yield ArticleResult(article, prepared.alerts, tuple(events), tuple(errors))


class ExtractEvents(beam.PTransform):
    """Decided articles -> one ArticleResult each (events from the first article of new text;
    copies and reprints add none). Parallel."""

    def __init__(self, event_types: Sequence[EventType], entries: Sequence[Entry], cues: EventCues | None) -> None:
        super().__init__()
        self._events = _EventsDoFn(event_types, entries, cues)

    def expand(self, decided: beam.PCollection) -> beam.PCollection[ArticleResult]:
        """Applies the events DoFn."""
        return decided | beam.ParDo(self._events)
