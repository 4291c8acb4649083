"""The Parse step: raw records become articles stamped with their event time.

Event time is settled here, once, because every later step (the story index's window, its sweeps,
the stream's windows) depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES, too_large
from schemas.records import DeadLetter, RawRecord
from transforms.articles import event_time_ms, parse_record
from transforms.beam.common import DEAD, counter


class _ParseDoFn(beam.DoFn):
    """Parses one record, refusing oversized ones before anything else looks at them."""

    def __init__(self, max_article_bytes: int) -> None:
        self._max_bytes = max_article_bytes

    def process(self, record: RawRecord) -> Iterable[Any]:
        """An Article with its event time, or a dead letter (``DEAD``)."""
        oversized = too_large(record.payload, record.origin, self._max_bytes)
        if oversized is not None:
            counter("too_large").inc()
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
        yield TimestampedValue(result, moment)


class ParseArticles(beam.PTransform):
    """RawRecords -> Articles stamped with their event time (the transport's timestamp, else the
    publication time, else arrival), and parse-stage dead letters (``DEAD``). A record over
    ``max_article_bytes`` becomes a ``too_large`` dead letter before anything else looks at it."""

    def __init__(self, max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> None:
        super().__init__()
        self._max_bytes = max_article_bytes

    def expand(self, records: beam.PCollection[RawRecord]) -> beam.pvalue.DoOutputsTuple:
        """Applies the parse DoFn with its dead-letter output."""
        return records | beam.ParDo(_ParseDoFn(self._max_bytes)).with_outputs(DEAD, main="articles")
