"""Kafka in and out, with kafka-python (Beam's own KafkaIO is a Java cross-language transform).

Source: a Splittable DoFn over topic partitions. Each partition is one element whose restriction
is an offset range; the DoFn claims offsets, emits records with the Kafka record timestamp as
event time, and checkpoints (``defer_remainder``) when a poll comes back empty, so a runner that
streams (Prism, Flink) interleaves partitions and the job runs until stopped. Optional stops (end
offsets seen at start, or a record budget per partition) make tests and backfills terminate.

Delivery is at-least-once: offsets are committed for the consumer group only after everything
made from the records (article, alerts, events, dead letters) has been acknowledged by the broker.
After each bundle's flush the sink checks every send, and hands the input offsets it has fully
written to an ``OffsetLedger``, which joins them per partition and commits the contiguous prefix
at once (so the group's lag reaches 0 as soon as the last record is written). Re-delivered
articles yield the same deterministic ids (article, alert, event), so consumers dedupe by id.

Why a ledger in the worker and not keyed state: the sink runs fused after the story index, a
single-key stage, so every result of the job passes through one worker; and Prism 2.77 was seen
to lose read-modify-write updates of a keyed committer's state under a steady stream (commit
points stalled at lag 1,752 of 3,000 after every record was written). The ledger never commits
an offset whose records are not all written; a worker that sees only part of the ranges commits
less, never more.

Size: a record over the article limit becomes a ``too_large`` dead letter at the reader; an
output the producer or broker refuses as too large (``MessageSizeTooLargeError``,
``RecordTooLarge``) is replaced by a ``too_large`` dead letter (raw truncated, size recorded)
instead of failing the bundle, so one record never stops the job.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Duration, Timestamp
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from schemas.records import ArticleResult, DeadLetter
from transforms.articles import DEFAULT_MAX_ARTICLE_BYTES, RAW_KEPT_CHARS, TOO_LARGE, RawRecord, too_large
from transforms.beam.common import DEAD, METRICS_NAMESPACE
from transforms.io.files.source import SplitReadFailures

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


# Input topics that marsad creates keep their records: `marsad replay` stamps each record with the
# article's publication time, often years ago, and time-based retention (the broker's default is
# 7 days of record time) would delete a replayed archive at the broker's next retention check.
KEEP_RECORDS = {"retention.ms": "-1"}


def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int = 3, configs: dict[str, str] | None = None
) -> list[str]:
    """Create the topics that do not exist yet (a job may start before anything is published),
    with ``configs``; return the ones created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="marsad-admin")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(t, partitions, 1, topic_configs=dict(configs or {})) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        admin.close()


def topic_retention_ms(bootstrap: str, topic: str) -> int | None:
    """The topic's time retention in ms (-1: forever); None when the topic does not exist."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="marsad-admin")
    try:
        if topic not in set(admin.list_topics()):
            return None
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs=["retention.ms"])], config_filter="all"
        )
        return int(described["topic"][topic]["retention.ms"]["value"])
    finally:
        admin.close()


def topic_max_bytes(bootstrap: str, topics: Iterable[str]) -> dict[str, int]:
    """Each topic's ``max.message.bytes`` (what the broker accepts in one record batch)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="marsad-admin")
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, configs=["max.message.bytes"]) for t in topics]
        described = admin.describe_configs(resources, config_filter="all")["topic"]
        return {t: int(c["max.message.bytes"]["value"]) for t, c in described.items() if "max.message.bytes" in c}
    finally:
        admin.close()


def retention_problem(topic: str, retention_ms: int, oldest_ms: int, now_ms: int) -> str | None:
    """Why writing a record stamped ``oldest_ms`` into ``topic`` would lose it, or None. Pure."""
    if retention_ms < 0 or oldest_ms >= now_ms - retention_ms + 3_600_000:  # an hour to spare
        return None
    oldest = dt.datetime.fromtimestamp(oldest_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"topic {topic!r} keeps records for {retention_ms / 3_600_000:g} h of record time (retention.ms="
        f"{retention_ms}), but the archive's oldest record is stamped {oldest} UTC: the broker would "
        "delete it at its next retention check and the job would read nothing. Replay into a new topic "
        f"(marsad creates it with retention.ms=-1), run `marsad topics create {topic} --retention-ms -1` "
        f"on a new name, or set retention.ms=-1 on {topic!r} (kafka-configs.sh --alter --add-config "
        "retention.ms=-1)."
    )


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
    ensure_topics(bootstrap, [topic], partitions_if_new, KEEP_RECORDS)
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
            LIVE.read(key)
            yield beam.window.TimestampedValue(
                _raw_record(record.value, origin, record.timestamp, self._max_bytes), moment
            )
        end = self._consumer.highwater(tp)
        if end is not None:
            Metrics.gauge(METRICS_NAMESPACE, f"unread/{key}").set(max(0, end - position))
        if position >= stop:
            return
        # Idle only when caught up: an empty poll before the first fetch of a backlog must not move
        # the watermark to the present, which would make the whole backlog late.
        if not records:
            idle = self._idle_watermark(plan, tp, position, watermark.current_watermark())
            if idle is not None:
                self._advance(watermark, idle)
        current = watermark.current_watermark()
        if current is not None:
            delay = time.time() - current.micros / 1e6
            LIVE.watermark(key, delay)
            Metrics.gauge(METRICS_NAMESPACE, f"watermark_delay_seconds/{key}").set(int(delay))
        tracker.defer_remainder(Duration(seconds=0.2) if not records else Duration())

    def _room(self, key: str, position: int) -> int:
        """How many more records this partition may have in flight (read, not yet written). With
        a Kafka sink in this process, at most one read batch is: that bounds memory, the latency
        of commits and what a crash makes the next job read again."""
        ledger = _LEDGERS.get((self._bootstrap, self._commit_group)) if self._commit_group else None
        if ledger is None:
            return self._max_poll_records
        written = ledger.positions().get(key)
        return self._max_poll_records if written is None else self._max_poll_records - (position - written)

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
        """``commit_group``: the group whose offsets a Kafka sink commits; the reader then keeps
        at most ``max_poll_records`` per partition in flight."""
        super().__init__()
        self._bootstrap = bootstrap
        self._plans = list(plans)
        self._reader = _ReadPartitionDoFn(bootstrap, poll_ms, max_poll_records, idle_seconds, max_bytes, commit_group)

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


# Errors with which a producer or broker refuses a record for its size. kafka-python splits a
# refused batch and retries, so only the oversized record itself ends with one of these.
RECORD_OVERHEAD = 128  # record batch header (61 bytes) and one record's framing, rounded up
SIZE_ERRORS = (MessageSizeTooLargeError, getattr(kafka_errors, "RecordListTooLargeError", MessageSizeTooLargeError))


class LiveFigures:
    """What this process's workers have done so far, for the progress line of a stream job (on
    Prism the SDK worker runs in the driver's process). Beam metrics carry the same figures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._delays: dict[str, float] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def read(self, _partition: str) -> None:
        self.add("read")

    def watermark(self, partition: str, delay_seconds: float) -> None:
        with self._lock:
            self._delays[partition] = delay_seconds

    def snapshot(self) -> tuple[dict[str, int], dict[str, float]]:
        with self._lock:
            return dict(self._counts), dict(self._delays)


LIVE = LiveFigures()


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
        with self._lock:
            if self._consumer is not None:
                with contextlib.suppress(Exception):
                    self._consumer.close()
                self._consumer = None


_LEDGERS: dict[tuple[str, str], OffsetLedger] = {}
_LEDGERS_LOCK = threading.Lock()


def ledger_for(bootstrap: str, group: str) -> OffsetLedger:
    """This process's ledger for a group (every sink instance of the job shares it)."""
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault((bootstrap, group), OffsetLedger(bootstrap, group))


def retry_commits() -> None:
    with _LEDGERS_LOCK:
        ledgers = list(_LEDGERS.values())
    for ledger in ledgers:
        ledger.retry()


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
            self._max_bytes = topic_max_bytes(self._bootstrap, [self._output.topic_for(k) for k in OUTPUT_KINDS])
        if self._commit_to is not None:
            self._ledger = ledger_for(*self._commit_to)
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
            LIVE.add(name, amount)

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
        writer = _WriteToTopicsDoFn(self._output.bootstrap, self._output, self._commit_to, self._starts)
        return pcoll | "WriteTopics" >> beam.ParDo(writer)
