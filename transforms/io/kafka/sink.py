"""The Kafka writer: results and lost-article dead letters to ``PREFIX.{articles,alerts,events,
deadletter}``, keyed by id, then the input offsets whose outputs are all written to the ledger.

After each bundle's flush the sink checks every send; a send that failed for a reason that passes
(a broker away, a leader election) is sent again until the broker takes it. Size: an output the
producer or broker refuses as too large (``MessageSizeTooLargeError``, ``RecordTooLarge``) is
replaced by a ``too_large`` dead letter (raw truncated, size recorded) instead of failing the
bundle, so one record never stops the job.

The output topics are not created here: the caller creates them (``admin.ensure_output_topics``)
before building the pipeline.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from kafka import KafkaProducer
from kafka import errors as kafka_errors
from kafka.errors import KafkaError, MessageSizeTooLargeError

from schemas.deadletters import RAW_KEPT_CHARS, TOO_LARGE
from schemas.records import ArticleResult, DeadLetter
from transforms.beam.common import METRICS_NAMESPACE
from transforms.io.kafka.address import KafkaAddress
from transforms.io.kafka.admin import PartitionPlan, topic_max_bytes
from transforms.io.kafka.ledger import OffsetLedger
from transforms.io.kafka.runtime import RUNTIME

log = logging.getLogger(__name__)

# Errors with which a producer or broker refuses a record for its size. kafka-python splits a
# refused batch and retries, so only the oversized record itself ends with one of these.
RECORD_OVERHEAD = 128  # record batch header (61 bytes) and one record's framing, rounded up
SIZE_ERRORS = (MessageSizeTooLargeError, getattr(kafka_errors, "RecordListTooLargeError", MessageSizeTooLargeError))


@dataclass
class _Send:
    """One output record of one input element, and what became of it."""

    kind: str
    key: str
    value: bytes
    role: str  # article, alert, event, stage_error, lost
    future: Any = None
    refused: Exception | None = None


def _too_large_for_sink(element: ArticleResult | DeadLetter, send: _Send, error: Exception, topic: str) -> DeadLetter:
    """The dead letter that stands in for an output the broker would not take for its size."""
    if isinstance(element, DeadLetter):
        origin, article_id, stage = element.origin, element.article_id, element.stage
        raw: bytes | str = element.raw if element.raw is not None else send.value
    else:
        origin, article_id = element.article.origin or {}, element.article.id
        stage = {"article": "write", "alert": "alerts", "event": "events"}.get(send.role, "write")
        raw = send.value
    text = raw if isinstance(raw, str) else raw[: RAW_KEPT_CHARS * 4].decode("utf-8", errors="replace")
    what = send.role.replace("_", " ")
    return DeadLetter(
        reason=f"{TOO_LARGE}: {what} record of {len(send.value):,} bytes refused by topic {topic} "
        f"({type(error).__name__}: the topic's max.message.bytes or the producer's max_request_size)",
        stage=stage,
        origin={**origin, "size_bytes": len(send.value), "raw_truncated_to_chars": RAW_KEPT_CHARS},
        raw=text[:RAW_KEPT_CHARS],
        article_id=article_id,
    )


class _WriteToTopicsDoFn(beam.DoFn):
    """Writes every output of an input record to its topic; after the bundle's flush checks each
    send, stands a ``too_large`` dead letter in for what the broker refused for its size, and
    hands the input offsets now fully written to the group's ledger."""

    def __init__(self, bootstrap: str, output: KafkaAddress, commit_to: tuple[str, str] | None,
                 starts: dict[str, int]) -> None:  # fmt: skip
        self._bootstrap = bootstrap
        self._output = output
        self._commit_to = commit_to
        self._starts = starts
        self._producer: KafkaProducer | None = None
        self._ledger: OffsetLedger | None = None
        self._bundle: list[tuple[ArticleResult | DeadLetter, list[_Send]]] = []
        self._max_bytes: dict[str, int] = {}

    def _new_producer(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.close(timeout=5)
        self._producer = KafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            linger_ms=5,
            # Retry (leader changes, a broker that went away and came back) until the delivery
            # timeout (120 s) rather than a fixed count that a pause of a few seconds exhausts.
            retries=float("inf"),
            compression_type=None,
        )

    def setup(self) -> None:
        self._new_producer()
        # Records the broker would refuse are refused here instead: kafka-python treats a broker's
        # MESSAGE_TOO_LARGE as fatal for the producer, and every later send would fail with it.
        with contextlib.suppress(KafkaError):
            self._max_bytes = topic_max_bytes(self._bootstrap, self._output.output_topics())
        if self._commit_to is not None:
            self._ledger = RUNTIME.ledgers.ledger_for(*self._commit_to)
            self._ledger.start_at(self._starts)

    def start_bundle(self) -> None:
        self._bundle = []

    def _outputs(self, element: ArticleResult | DeadLetter) -> list[_Send]:
        if isinstance(element, DeadLetter):
            return [_Send("deadletter", _dead_letter_key(element), element.to_json(), "lost")]
        article = element.article
        sends = [_Send("articles", article.id, article.to_json(), "article")]
        sends += [_Send("alerts", a.alert_id, a.to_json(), "alert") for a in element.alerts]
        sends += [_Send("events", e.event_id, e.to_json(), "event") for e in element.events]
        sends += [_Send("deadletter", _dead_letter_key(d), d.to_json(), "stage_error") for d in element.stage_errors]
        return sends

    def _send(self, send: _Send) -> None:
        assert self._producer is not None
        topic = self._output.topic_for(send.kind)
        limit = self._max_bytes.get(topic)
        if limit is not None and len(send.value) + len(send.key.encode("utf-8")) + RECORD_OVERHEAD > limit:
            send.refused = MessageSizeTooLargeError(f"over max.message.bytes={limit} of {topic}")
            return
        try:
            send.future = self._producer.send(
                self._output.topic_for(send.kind), key=send.key.encode("utf-8"), value=send.value
            )
        except SIZE_ERRORS as error:  # over the producer's own max_request_size
            send.refused = error

    def _send_until_taken(self, send: _Send, error: Exception) -> Exception | None:
        """Resend a record that failed for a reason that passes (a broker away or electing a
        leader) until the broker takes it or refuses it for its size; raise anything else, which
        fails the bundle: nothing of it is acknowledged, so it is read again."""
        while getattr(error, "retriable", False):
            log.warning("resending a record to %s after %s", self._output.topic_for(send.kind), type(error).__name__)
            time.sleep(1)
            taken = self._send_alone(send)
            if taken is None or isinstance(taken, SIZE_ERRORS):
                return taken
            error = taken
        raise error

    def _send_alone(self, send: _Send) -> Exception | None:
        assert self._producer is not None
        send.refused, send.future = None, None
        self._send(send)
        self._producer.flush()
        error = send.refused or _failure(send.future)
        if error is not None and send.future is not None:
            self._new_producer()  # the broker refused it: this producer is poisoned
        return error

    def process(self, element: ArticleResult | DeadLetter) -> None:
        sends = self._outputs(element)
        for send in sends:
            self._send(send)
        self._bundle.append((element, sends))

    def finish_bundle(self) -> None:
        assert self._producer is not None
        self._producer.flush()
        fresh = False  # a producer started after the broker refused something
        for element, sends in self._bundle:
            for send in sends:
                error = send.refused or _failure(send.future)
                if error is not None and not isinstance(error, SIZE_ERRORS):
                    error = self._send_until_taken(send, error)
                if error is None:
                    continue
                # The broker refused a request: kafka-python then fails every record after it
                # too. Start a new producer and send the failed records one by one: only a record
                # refused on its own is too large.
                if send.future is not None and not fresh:
                    self._new_producer()
                    fresh = True
                if send.future is not None and self._send_alone(send) is None:
                    continue
                dead = _too_large_for_sink(element, send, error, self._output.topic_for(send.kind))
                log.warning("%s: %s", _dead_letter_key(dead), dead.reason)
                Metrics.counter(METRICS_NAMESPACE, "too_large").inc()
                stand_in = _Send("deadletter", _dead_letter_key(dead), dead.to_json(), "stand_in")
                problem = self._send_alone(stand_in)
                if problem is not None:
                    raise problem
        self._count_written()
        if self._ledger is not None:
            settled = [_kafka_origin(_origin_of(element)) for element, _ in self._bundle]
            self._ledger.settle(s for s in settled if s is not None)
        self._bundle = []

    def _count_written(self) -> None:
        counts: dict[str, int] = {}
        for element, _ in self._bundle:
            if isinstance(element, DeadLetter):
                counts["dead_letters_written"] = counts.get("dead_letters_written", 0) + 1
            else:
                counts["articles_written"] = counts.get("articles_written", 0) + 1
                alerts = sum(1 for a in element.alerts if a.revision == 1)
                counts["alerts_written"] = counts.get("alerts_written", 0) + alerts
        for name, amount in counts.items():
            Metrics.counter(METRICS_NAMESPACE, name).inc(amount)
            RUNTIME.live.add(name, amount)

    def teardown(self) -> None:
        if self._producer is not None:
            self._producer.close()


def _failure(future: Any) -> Exception | None:
    if future is None or not future.is_done:
        return None
    return future.exception if future.failed() else None


def _origin_of(element: ArticleResult | DeadLetter) -> dict[str, Any] | None:
    return element.origin if isinstance(element, DeadLetter) else element.article.origin


def _dead_letter_key(dead: DeadLetter) -> str:
    origin = dead.origin or {}
    if "partition" in origin:
        return f"{origin.get('topic')}/{origin['partition']}/{origin.get('offset')}"
    return dead.article_id or str(origin.get("file", "")) + ":" + str(origin.get("line", origin.get("index", "")))


def _kafka_origin(origin: dict[str, Any] | None) -> tuple[str, int, int] | None:
    """(topic/partition key, covers_from, next offset) of a record read from Kafka."""
    if not origin or "partition" not in origin or "offset" not in origin:
        return None
    key = f"{origin['topic']}/{origin['partition']}"
    return key, int(origin.get("covers_from", origin["offset"])), int(origin["offset"]) + 1


class WriteToKafka(beam.PTransform):
    """ArticleResults and lost-article dead letters -> ``PREFIX.{articles,alerts,events,deadletter}``,
    keyed by id; then commits the consumed offsets of the input group (when the input was Kafka)."""

    def __init__(
        self,
        output: KafkaAddress,
        commit_to: tuple[str, str] | None = None,
        plans: Sequence[PartitionPlan] = (),
    ) -> None:
        """``commit_to``: (input bootstrap servers, consumer group) whose offsets to commit."""
        super().__init__()
        self._output = output
        self._commit_to = commit_to
        self._starts = {f"{p.topic}/{p.partition}": p.start for p in plans}

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        """Writes every element's outputs; the topics already exist (``admin.ensure_output_topics``)."""
        writer = _WriteToTopicsDoFn(self._output.bootstrap, self._output, self._commit_to, self._starts)
        return pcoll | "WriteTopics" >> beam.ParDo(writer)
