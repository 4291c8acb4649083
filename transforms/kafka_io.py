"""Kafka in and out, with kafka-python (Beam's own KafkaIO is a Java cross-language transform).

Source: a Splittable DoFn over topic partitions. Each partition is one element whose restriction
is an offset range; the DoFn claims offsets, emits records with the Kafka record timestamp as
event time, and checkpoints (``defer_remainder``) when a poll comes back empty, so a runner that
streams (Prism, Flink) interleaves partitions and the job runs until stopped. Optional stops (end
offsets seen at start, or a record budget per partition) make tests and backfills terminate.

Delivery is at-least-once: offsets are committed for the consumer group only after everything
made from the records (article, alerts, events, dead letters) has been acknowledged by the broker.
The sink reports, after its flush, the offset ranges it has fully written; a keyed committer
joins those ranges per partition and commits the contiguous prefix. Re-delivered articles yield
the same deterministic ids (article, alert, event), so downstream consumers dedupe by id.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Duration, Timestamp
from apache_beam.utils.windowed_value import WindowedValue
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from schemas.records import DeadLetter
from transforms.articles import RawRecord
from transforms.stages import DEAD, ArticleResult, SplitReadFailures

log = logging.getLogger(__name__)

UNBOUNDED = 2**63 - 1
OUTPUT_KINDS = ("articles", "alerts", "events", "deadletter")


class KafkaAddressError(ValueError):
    pass


@dataclass(frozen=True)
class KafkaAddress:
    """``kafka://HOST:PORT[,HOST:PORT...]/NAME``: NAME is the input topic, or the output prefix."""

    bootstrap: str
    name: str

    @classmethod
    def parse(cls, url: str) -> KafkaAddress:
        parts = urlsplit(url)
        name = parts.path.strip("/")
        if parts.scheme != "kafka" or not parts.netloc or not name or "/" in name:
            raise KafkaAddressError(f"{url!r}: expected kafka://HOST:PORT/NAME")
        return cls(parts.netloc, name)

    def topic_for(self, kind: str) -> str:
        return f"{self.name}.{kind}"


@dataclass(frozen=True)
class PartitionPlan:
    """One partition's share of the job: read [start, stop) (stop None: until the job stops)."""

    topic: str
    partition: int
    start: int
    stop: int | None


def _parse_start(start: str) -> str | int:
    if start in ("earliest", "latest"):
        return start
    try:
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"start {start!r}: expected earliest, latest or an ISO-8601 date-time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int = 3) -> None:
    """Create the topics that do not exist yet (a job may start before anything is published)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="marsad-admin")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                admin.create_topics(missing)
    finally:
        admin.close()


def plan_partitions(
    bootstrap: str,
    topic: str,
    group: str,
    start: str = "earliest",
    stop_at_end: bool = False,
    max_records: int | None = None,
    partitions_if_new: int = 3,
) -> list[PartitionPlan]:
    """Where each partition starts and stops. The group's committed offset wins over ``start``:
    a restarted job resumes where its outputs were last fully written."""
    position = _parse_start(start)
    ensure_topics(bootstrap, [topic], partitions_if_new)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + 30
        numbers = consumer.partitions_for_topic(topic)
        while not numbers and time.monotonic() < deadline:
            time.sleep(0.2)
            numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise RuntimeError(f"topic {topic!r} has no partitions on {bootstrap}")
        tps = [TopicPartition(topic, n) for n in sorted(numbers)]
        earliest = consumer.beginning_offsets(tps)
        latest = consumer.end_offsets(tps)
        by_time = consumer.offsets_for_times({tp: position for tp in tps}) if isinstance(position, int) else {}
        plans = []
        for tp in tps:
            committed = consumer.committed(tp)
            if committed is not None:
                begin = committed
            elif position == "earliest":
                begin = earliest[tp]
            elif position == "latest":
                begin = latest[tp]
            else:
                found = by_time.get(tp)
                begin = found.offset if found is not None else latest[tp]
            stop = latest[tp] if stop_at_end else None
            if max_records is not None:
                stop = begin + max_records if stop is None else min(stop, begin + max_records)
            plans.append(PartitionPlan(topic, tp.partition, begin, None if stop is None else max(stop, begin)))
        return plans
    finally:
        consumer.close()


class _PartitionTracker(OffsetRestrictionTracker):
    """An offset tracker that only splits at checkpoints. A runner-initiated split of an unbounded
    range would cut at the middle of [offset, 2**63) and hand a reader a start offset that Kafka
    has never heard of; a partition is read in order by one reader anyway."""

    def try_split(self, fraction_of_remainder: float) -> tuple[OffsetRange, OffsetRange] | None:
        if fraction_of_remainder > 0:
            return None
        return super().try_split(fraction_of_remainder)


class _PartitionRestrictions(RestrictionProvider):
    def initial_restriction(self, plan: PartitionPlan) -> OffsetRange:
        return OffsetRange(plan.start, UNBOUNDED if plan.stop is None else plan.stop)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return _PartitionTracker(restriction)

    def restriction_size(self, plan: PartitionPlan, restriction: OffsetRange) -> int:
        return 0 if restriction.stop == UNBOUNDED else restriction.size()

    def split(self, plan: PartitionPlan, restriction: OffsetRange) -> Iterable[OffsetRange]:
        yield restriction  # a partition is read in order by one reader


_RESTRICTIONS = _PartitionRestrictions()
_WATERMARKS = ManualWatermarkEstimator.default_provider()


class _ReadPartitionDoFn(beam.DoFn):
    """Reads one partition's offset range; see the module doc."""

    def __init__(self, bootstrap: str, poll_ms: int, max_poll_records: int, idle_seconds: float) -> None:
        self._bootstrap = bootstrap
        self._poll_ms = poll_ms
        self._max_poll_records = max_poll_records
        self._idle = Duration(seconds=idle_seconds)
        self._consumer: KafkaConsumer | None = None
        # Wall-clock time of the last record per partition, to advance idle watermarks.
        self._last_seen: dict[tuple[str, int], tuple[float, Timestamp]] = {}

    def setup(self) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,  # offsets are committed by the committer, after outputs are written
            enable_auto_commit=False,
            max_poll_records=self._max_poll_records,
            # The broker holds a fetch until this much time passes or data arrives: it bounds the
            # latency a quiet partition adds (the default, 500 ms, would dominate it).
            fetch_max_wait_ms=50,
        )

    def teardown(self) -> None:
        if self._consumer is not None:
            self._consumer.close()

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        plan: PartitionPlan,
        tracker: OffsetRestrictionTracker = beam.DoFn.RestrictionParam(_RESTRICTIONS),
        watermark: ManualWatermarkEstimator = beam.DoFn.WatermarkEstimatorParam(_WATERMARKS),
    ) -> Iterable[Any]:
        assert self._consumer is not None
        tp = TopicPartition(plan.topic, plan.partition)
        position = tracker.current_restriction().start
        stop = tracker.current_restriction().stop
        if position >= stop:
            return
        self._consumer.assign([tp])
        self._consumer.seek(tp, position)
        records = self._consumer.poll(timeout_ms=self._poll_ms).get(tp, [])
        for record in records:
            if record.offset < position:
                continue  # already claimed by this restriction's earlier reads
            if not tracker.try_claim(record.offset):
                return
            moment = Timestamp(micros=record.timestamp * 1000)
            self._advance(watermark, moment)
            self._last_seen[(plan.topic, plan.partition)] = (time.time(), moment)
            origin = {
                "topic": plan.topic,
                "partition": plan.partition,
                "offset": record.offset,
                # Offsets [covers_from, offset] are settled with this record (gaps such as
                # transaction markers included), for the committer.
                "covers_from": position,
            }
            position = record.offset + 1
            yield beam.window.TimestampedValue(_raw_record(record.value, origin, record.timestamp), moment)
        if position >= stop:
            return
        if not records:
            idle = self._idle_watermark(plan, tp, position, watermark.current_watermark())
            if idle is not None:
                self._advance(watermark, idle)
        tracker.defer_remainder(Duration(seconds=0.2) if not records else Duration())

    def _idle_watermark(
        self, plan: PartitionPlan, tp: TopicPartition, position: int, current: Timestamp | None
    ) -> Timestamp | None:
        # An empty poll is not idleness while records remain below the partition's end (the
        # first fetches after a start often come back empty): moving on with the wall clock then
        # would make a replayed archive's backlog late before it is read. None: hold.
        assert self._consumer is not None
        end = self._consumer.highwater(tp)
        if end is None:
            end = self._consumer.end_offsets([tp])[tp]
        if max(position, self._consumer.position(tp) or 0) < end:
            return None
        # An idle partition's event time moves on with the wall clock from its last record; after
        # a restart from a checkpoint, from the restored watermark; with neither (a partition that
        # never had a record), from now; less a grace period for records still on the way.
        key = (plan.topic, plan.partition)
        seen = self._last_seen.get(key)
        if seen is None and current is not None:
            seen = self._last_seen[key] = (time.time(), current + self._idle)
        if seen is None:
            return Timestamp.now() - self._idle
        wall, event = seen
        return event + Duration(seconds=time.time() - wall) - self._idle

    @staticmethod
    def _advance(watermark: ManualWatermarkEstimator, candidate: Timestamp) -> None:
        current = watermark.current_watermark()
        if current is None or candidate > current:
            watermark.set_watermark(min(candidate, MAX_TIMESTAMP))


def _raw_record(value: bytes | None, origin: dict[str, Any], timestamp_ms: int) -> RawRecord | DeadLetter:
    if value is None:
        return DeadLetter(reason="record has no value (tombstone)", stage="read", origin=origin, raw=None)
    try:
        return RawRecord(origin, value.decode("utf-8"), "json", timestamp_ms)
    except UnicodeDecodeError as error:
        return DeadLetter(
            reason=f"record value is not valid UTF-8: {error}",
            stage="read",
            origin=origin,
            raw=None,
            raw_base64=base64.b64encode(value).decode("ascii"),
        )


class ReadFromKafka(beam.PTransform):
    """Kafka partitions (planned up front) -> RawRecords, and read-stage dead letters."""

    def __init__(
        self,
        bootstrap: str,
        plans: Sequence[PartitionPlan],
        poll_ms: int = 500,
        max_poll_records: int = 500,
        idle_seconds: float = 5.0,
    ) -> None:
        super().__init__()
        self._bootstrap = bootstrap
        self._plans = list(plans)
        self._reader = _ReadPartitionDoFn(bootstrap, poll_ms, max_poll_records, idle_seconds)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "Partitions" >> beam.Create(self._plans)
            | "ReadPartitions" >> beam.ParDo(self._reader)
            | "SplitReadFailures" >> beam.ParDo(SplitReadFailures()).with_outputs(DEAD, main="records")
        )


def _kafka_origin(origin: dict[str, Any] | None) -> tuple[str, int, int] | None:
    """(topic/partition key, covers_from, next offset) of a record read from Kafka."""
    if not origin or "partition" not in origin or "offset" not in origin:
        return None
    key = f"{origin['topic']}/{origin['partition']}"
    return key, int(origin.get("covers_from", origin["offset"])), int(origin["offset"]) + 1


class _WriteToTopicsDoFn(beam.DoFn):
    """Writes every output of an input record to its topic; after the bundle's flush (acks=all)
    emits the input offset ranges that are now fully written."""

    def __init__(self, bootstrap: str, output: KafkaAddress) -> None:
        self._bootstrap = bootstrap
        self._output = output
        self._producer: KafkaProducer | None = None
        self._written: list[tuple[str, int, int]] = []

    def setup(self) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            linger_ms=5,
            retries=5,
            compression_type=None,
        )

    def start_bundle(self) -> None:
        self._written = []

    def _send(self, kind: str, key: str, value: bytes) -> None:
        assert self._producer is not None
        self._producer.send(self._output.topic_for(kind), key=key.encode("utf-8"), value=value)

    def process(self, element: ArticleResult | DeadLetter) -> None:
        if isinstance(element, DeadLetter):
            self._send("deadletter", _dead_letter_key(element), element.to_json())
            origin = element.origin
        else:
            article = element.article
            self._send("articles", article.id, article.to_json())
            for alert in element.alerts:
                self._send("alerts", alert.alert_id, alert.to_json())
            for event in element.events:
                self._send("events", event.event_id, event.to_json())
            for dead in element.stage_errors:
                self._send("deadletter", _dead_letter_key(dead), dead.to_json())
            origin = article.origin
        settled = _kafka_origin(origin)
        if settled is not None:
            self._written.append(settled)

    def finish_bundle(self) -> Iterable[WindowedValue]:
        assert self._producer is not None
        self._producer.flush()  # raises if the broker did not take them: nothing is acknowledged
        for key, covers_from, next_offset in self._written:
            yield WindowedValue((key, (covers_from, next_offset)), Timestamp.now(), [GlobalWindow()])
        self._written = []

    def teardown(self) -> None:
        if self._producer is not None:
            self._producer.close()


def _dead_letter_key(dead: DeadLetter) -> str:
    origin = dead.origin or {}
    if "partition" in origin:
        return f"{origin.get('topic')}/{origin['partition']}/{origin.get('offset')}"
    return dead.article_id or str(origin.get("file", "")) + ":" + str(origin.get("line", origin.get("index", "")))


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


class _CommitOffsetsDoFn(beam.DoFn):
    """Per partition, commits the offset below which every record's outputs are written."""

    PROGRESS = ReadModifyWriteStateSpec("progress", PickleCoder())

    def __init__(self, bootstrap: str, group: str, starts: dict[str, int]) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._starts = starts
        self._consumer: KafkaConsumer | None = None

    def setup(self) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False
        )

    def teardown(self) -> None:
        if self._consumer is not None:
            self._consumer.close()

    def process(self, element: tuple[str, tuple[int, int]], progress: Any = beam.DoFn.StateParam(PROGRESS)) -> None:
        assert self._consumer is not None
        key, (covers_from, end) = element
        committed, pending = progress.read() or (self._starts.get(key, covers_from), {})
        advanced, pending = merge_settled(committed, pending, covers_from, end)
        progress.write((advanced, pending))
        if advanced > committed:
            topic, partition = key.rsplit("/", 1)
            self._consumer.commit({TopicPartition(topic, int(partition)): OffsetAndMetadata(advanced, "", -1)})
            beam.metrics.Metrics.counter("marsad", "offsets_committed").inc(advanced - committed)


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
        ensure_topics(self._output.bootstrap, [self._output.topic_for(kind) for kind in OUTPUT_KINDS])
        settled = pcoll | "WriteTopics" >> beam.ParDo(_WriteToTopicsDoFn(self._output.bootstrap, self._output))
        if self._commit_to is None:
            return settled
        bootstrap, group = self._commit_to
        return settled | "CommitOffsets" >> beam.ParDo(_CommitOffsetsDoFn(bootstrap, group, self._starts))
