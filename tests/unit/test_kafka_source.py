"""The Kafka reader's idle watermark, which decides whether a replayed backlog arrives on time on
Flink (and Prism): the reader with a stand-in consumer (the rule itself, without Beam, is
test_kafka_watermark.py; the integration is tests/integration/test_flink.py)."""

from __future__ import annotations

import time

from apache_beam.utils.timestamp import Duration, Timestamp
from kafka import TopicPartition

from transforms.io.kafka.admin import PartitionPlan
from transforms.io.kafka.source import _ReadPartitionDoFn
from transforms.io.kafka.watermark import LastRecord

PLAN = PartitionPlan("news", 0, 0, None)
TP = TopicPartition("news", 0)
OLD = Timestamp(seconds=1_530_000_000)  # mid-2018, as a replayed archive


class StandInConsumer:
    def __init__(self, highwater: int | None, end: int, position: int) -> None:
        self._highwater, self._end, self._position = highwater, end, position

    def highwater(self, tp: TopicPartition) -> int | None:
        return self._highwater

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self._end for tp in tps}

    def position(self, tp: TopicPartition) -> int:
        return self._position


def reader(consumer: StandInConsumer) -> _ReadPartitionDoFn:
    dofn = _ReadPartitionDoFn("unused:9092", poll_ms=500, max_poll_records=500, idle_seconds=5, max_bytes=1 << 20)
    dofn._consumer = consumer
    return dofn


def test_an_empty_poll_below_the_end_holds_the_watermark():
    # The first fetches after a start come back empty while a backlog waits: not idleness.
    assert reader(StandInConsumer(highwater=1000, end=1000, position=0))._idle_watermark(PLAN, TP, 0, None) is None
    assert reader(StandInConsumer(highwater=None, end=1000, position=0))._idle_watermark(PLAN, TP, 0, OLD) is None


def test_a_caught_up_partition_moves_on_from_its_last_record():
    dofn = reader(StandInConsumer(highwater=10, end=10, position=10))
    dofn._last_seen[("news", 0)] = LastRecord(time.time() - 60, OLD.micros)
    idle = dofn._idle_watermark(PLAN, TP, 10, OLD)
    assert OLD + Duration(seconds=50) <= idle <= OLD + Duration(seconds=60)


def test_after_a_restart_it_moves_on_from_the_restored_watermark_not_from_now():
    # A job restored from a savepoint has no last record in memory, only the watermark state:
    # jumping to the present would expire the dedup state of the whole archive.
    idle = reader(StandInConsumer(highwater=10, end=10, position=10))._idle_watermark(PLAN, TP, 10, OLD)
    assert OLD <= idle < OLD + Duration(seconds=5)


def test_a_partition_that_never_had_a_record_follows_the_clock():
    idle = reader(StandInConsumer(highwater=0, end=0, position=0))._idle_watermark(PLAN, TP, 0, None)
    assert abs(float(idle - (Timestamp.now() - Duration(seconds=5)))) < 5
