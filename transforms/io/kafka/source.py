"""The Kafka reader: a Splittable DoFn over topic partitions.

Each partition is one element whose restriction is an offset range; the DoFn claims offsets, emits
records with the Kafka record timestamp as event time, and checkpoints (``defer_remainder``) when a
poll comes back empty, so a runner that streams (Prism, Flink) interleaves partitions and the job
runs until stopped. Optional stops (end offsets seen at start, or a record budget per partition)
make tests and backfills terminate. Its clock rule is ``watermark``, its flow control
``backpressure``; a record over the article limit becomes a ``too_large`` dead letter here.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Duration, Timestamp
from kafka import KafkaConsumer, TopicPartition

from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES, too_large
from schemas.records import DeadLetter, RawRecord
from transforms.beam.common import DEAD, METRICS_NAMESPACE
from transforms.io.files.source import SplitReadFailures
from transforms.io.kafka import backpressure, watermark
from transforms.io.kafka.admin import PartitionPlan
from transforms.io.kafka.runtime import RUNTIME

UNBOUNDED = 2**63 - 1


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

    def __init__(
        self,
        bootstrap: str,
        poll_ms: int,
        max_poll_records: int,
        idle_seconds: float,
        max_bytes: int,
        commit_group: str | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._commit_group = commit_group
        self._max_bytes = max_bytes
        self._poll_ms = poll_ms
        self._max_poll_records = max_poll_records
        self._idle = Duration(seconds=idle_seconds)
        self._consumer: KafkaConsumer | None = None
        # Wall-clock time and event time of the last record per partition, to advance idle watermarks.
        self._last_seen: dict[tuple[str, int], watermark.LastRecord] = {}

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
        # Beam's parameter markers: at run time a RestrictionTrackerView over an offset tracker and
        # a ThreadsafeWatermarkEstimator over a ManualWatermarkEstimator, neither typed by Beam.
        tracker: Any = beam.DoFn.RestrictionParam(_RESTRICTIONS),
        estimator: Any = beam.DoFn.WatermarkEstimatorParam(_WATERMARKS),
    ) -> Iterable[Any]:
        """Claims and yields the records of one poll, then checkpoints (see the module doc)."""
        assert self._consumer is not None
        tp = TopicPartition(plan.topic, plan.partition)
        position = tracker.current_restriction().start
        stop = tracker.current_restriction().stop
        if position >= stop:
            return
        self._consumer.assign([tp])
        self._consumer.seek(tp, position)
        key = f"{plan.topic}/{plan.partition}"
        room = self._room(key, position)
        if room <= 0:  # far enough ahead of what is written: let the sink catch up
            tracker.defer_remainder(Duration(seconds=0.2))
            return
        records = self._consumer.poll(timeout_ms=self._poll_ms, max_records=room).get(tp, [])
        for record in records:
            if record.offset < position:
                continue  # already claimed by this restriction's earlier reads
            if not tracker.try_claim(record.offset):
                return
            moment = Timestamp(micros=record.timestamp * 1000)
            self._advance(estimator, moment)
            self._last_seen[(plan.topic, plan.partition)] = watermark.LastRecord(time.time(), moment.micros)
            origin = {
                "topic": plan.topic,
                "partition": plan.partition,
                "offset": record.offset,
                # Offsets [covers_from, offset] are settled with this record (gaps such as
                # transaction markers included), for the committer.
                "covers_from": position,
            }
            position = record.offset + 1
            RUNTIME.live.read(key)
            yield TimestampedValue(_raw_record(record.value, origin, record.timestamp, self._max_bytes), moment)
        end = self._consumer.highwater(tp)
        if end is not None:
            Metrics.gauge(METRICS_NAMESPACE, f"unread/{key}").set(max(0, end - position))
        if position >= stop:
            return
        # Idle only when caught up: an empty poll before the first fetch of a backlog must not move
        # the watermark to the present, which would make the whole backlog late.
        if not records:
            idle = self._idle_watermark(plan, tp, position, estimator.current_watermark())
            if idle is not None:
                self._advance(estimator, idle)
        current = estimator.current_watermark()
        if current is not None:
            delay = watermark.delay_seconds(current.micros, time.time())
            RUNTIME.live.watermark(key, delay)
            Metrics.gauge(METRICS_NAMESPACE, f"watermark_delay_seconds/{key}").set(int(delay))
        tracker.defer_remainder(Duration(seconds=0.2) if not records else Duration())

    def _room(self, key: str, position: int) -> int:
        """How many more records this partition may have in flight (``backpressure.room``), against
        the ledger of a Kafka sink in this process, if there is one."""
        ledger = RUNTIME.ledgers.find(self._bootstrap, self._commit_group) if self._commit_group else None
        written = ledger.positions().get(key) if ledger is not None else None
        return backpressure.room(self._max_poll_records, position, written)

    def _idle_watermark(
        self, plan: PartitionPlan, tp: TopicPartition, position: int, current: Timestamp | None
    ) -> Timestamp | None:
        """The watermark of an idle partition (``watermark.idle_watermark``), or None to hold it
        while records remain below the partition's end."""
        assert self._consumer is not None
        end = self._consumer.highwater(tp)
        if end is None:
            end = self._consumer.end_offsets([tp])[tp]
        if not watermark.caught_up(position, self._consumer.position(tp), end):
            return None
        key = (plan.topic, plan.partition)
        idle, last = watermark.idle_watermark(
            self._last_seen.get(key), None if current is None else current.micros, time.time(), self._idle.micros
        )
        if last is not None:
            self._last_seen[key] = last
        return Timestamp(micros=idle)

    @staticmethod
    def _advance(estimator: ManualWatermarkEstimator, candidate: Timestamp) -> None:
        current = estimator.current_watermark()
        moved = watermark.advanced(None if current is None else current.micros, candidate.micros, MAX_TIMESTAMP.micros)
        if moved is not None:
            estimator.set_watermark(Timestamp(micros=moved))


def _raw_record(
    value: bytes | None, origin: dict[str, Any], timestamp_ms: int, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
) -> RawRecord | DeadLetter:
    if value is None:
        return DeadLetter(reason="record has no value (tombstone)", stage="read", origin=origin, raw=None)
    oversized = too_large(value, origin, max_bytes)
    if oversized is not None:
        return oversized
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
        max_poll_records: int = 200,
        idle_seconds: float = 5.0,
        max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
        commit_group: str | None = None,
    ) -> None:
        """``plans``: from ``admin.plan_partitions``, made before the pipeline is built.
        ``commit_group``: the group whose offsets a Kafka sink commits; the reader then keeps at
        most ``max_poll_records`` per partition in flight."""
        super().__init__()
        self._bootstrap = bootstrap
        self._plans = list(plans)
        self._reader = _ReadPartitionDoFn(bootstrap, poll_ms, max_poll_records, idle_seconds, max_bytes, commit_group)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        """Records as the main output (``records``), read-stage dead letters as ``DEAD``."""
        return (
            pbegin
            | "Partitions" >> beam.Create(self._plans)
            | "ReadPartitions" >> beam.ParDo(self._reader)
            | "SplitReadFailures" >> beam.ParDo(SplitReadFailures()).with_outputs(DEAD, main="records")
        )
