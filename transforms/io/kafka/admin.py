"""Topics, retention, partition plans and group lag: what a job, ``marsad replay``, ``marsad
topics`` and the report viewer ask the broker before or beside a pipeline. No Beam here, so that
the tools that need none of it start fast and a test of them needs no runner."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from transforms.io.kafka.address import KafkaAddress, parse_start

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


def ensure_output_topics(output: KafkaAddress) -> list[str]:
    """Create a job's output topics (``PREFIX.{articles,alerts,events,deadletter}``) that do not
    exist yet; return the ones created. The caller does this before building the pipeline: the
    sink's size checks read the topics' limits, and consumers may subscribe before the first
    output."""
    return ensure_topics(output.bootstrap, output.output_topics())


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


@dataclass(frozen=True)
class PartitionPlan:
    """One partition's share of the job: read [start, stop) (stop None: until the job stops)."""

    topic: str
    partition: int
    start: int
    stop: int | None


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
    a restarted job resumes where its outputs were last fully written. Creates the input topic
    when it does not exist yet (``KEEP_RECORDS``), so that a job may start before anything is
    published."""
    position = parse_start(start)
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


@dataclass(frozen=True)
class PartitionLag:
    """A consumer group's position on one partition: what it has committed and where the
    partition ends."""

    topic: str
    partition: int
    committed: int  # 0 when the group has committed nothing on this partition
    end: int

    @property
    def key(self) -> str:
        """``topic/partition``, as the progress line and the ledger name partitions."""
        return f"{self.topic}/{self.partition}"

    @property
    def lag(self) -> int:
        """Records not yet committed: the end offset minus the committed offset."""
        return self.end - self.committed


def topic_partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions the broker knows of, in order (none when the topic does not exist)."""
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


def group_lag(
    consumer: KafkaConsumer, partitions: Iterable[TopicPartition], timeout_ms: int | None = None
) -> list[PartitionLag]:
    """The group's committed offset, end offset and lag per partition; ``consumer`` belongs to
    the group (``group_id``, no auto commit) and is not closed here, so that a caller that asks
    every few seconds keeps one. The one place lag is computed: ``marsad topics lag``, the
    progress line of a stream job and the tests all show the same figure."""
    tps = list(partitions)
    if not tps:
        return []
    ends = consumer.end_offsets(tps, timeout_ms=timeout_ms)
    return [
        PartitionLag(tp.topic, tp.partition, consumer.committed(tp, timeout_ms=timeout_ms) or 0, ends[tp]) for tp in tps
    ]


class WrittenToStops:
    """For a job with an end (``--stop-at-end``, ``--max-records``) and Kafka outputs: True once the
    group's committed offset has reached every partition's stop offset, that is, every record the
    job was to read has been read and all its outputs are on the topics (the sink commits an
    offset only then). What a runner that does not end such a job by itself (Flink) stops it on."""

    def __init__(self, bootstrap: str, group: str, plans: list[PartitionPlan]) -> None:
        """``plans``: the job's partition plans, whose ``stop`` offsets bound what it reads."""
        self._bootstrap = bootstrap
        self._group = group
        self._pending = {TopicPartition(p.topic, p.partition): p.stop for p in plans if p.stop != p.start}
        self._bounded = all(p.stop is not None for p in plans)
        self._consumer: KafkaConsumer | None = None

    def __call__(self) -> bool:
        """Whether every partition's stop offset is committed (False while the broker is away)."""
        if not self._bounded:
            return False
        try:
            if self._pending and self._consumer is None:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False,
                    request_timeout_ms=5000,
                )  # fmt: skip
            for tp, stop in list(self._pending.items()):
                committed = self._consumer.committed(tp, timeout_ms=5000) if self._consumer else None
                if committed is None or committed < stop:
                    return False
                del self._pending[tp]
        except Exception:  # a broker away: not done yet, as far as anyone can tell
            return False
        self.close()
        return True

    def close(self) -> None:
        """Close the group's consumer, if one was opened."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                self._consumer.close()
            self._consumer = None
