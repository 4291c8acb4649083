"""Kafka-side logic without a broker: addresses, commit bookkeeping, what replay publishes."""

import orjson
import pytest

from pipelines.replay import replay_record
from transforms.articles import RawRecord, parse_record
from transforms.kafka_io import KafkaAddress, KafkaAddressError, merge_settled


def test_kafka_address():
    address = KafkaAddress.parse("kafka://127.0.0.1:19092/news")
    assert (address.bootstrap, address.name, address.topic_for("alerts")) == ("127.0.0.1:19092", "news", "news.alerts")
    assert KafkaAddress.parse("kafka://a:1,b:2/x").bootstrap == "a:1,b:2"
    for bad in ("kafka://host:1", "http://host:1/x", "kafka:///x", "kafka://h:1/a/b"):
        with pytest.raises(KafkaAddressError):
            KafkaAddress.parse(bad)


def test_commit_point_moves_only_over_contiguous_settled_offsets():
    committed, pending = 10, {}
    committed, pending = merge_settled(committed, pending, 12, 13)  # 12 settled, 10-11 not yet
    assert (committed, pending) == (10, {12: 13})
    committed, pending = merge_settled(committed, pending, 10, 11)
    assert (committed, pending) == (11, {12: 13})
    committed, pending = merge_settled(committed, pending, 11, 12)
    assert (committed, pending) == (13, {})


def test_commit_ranges_cover_gaps_and_ignore_redeliveries():
    # A record whose range starts at the commit point covers offsets skipped by the broker.
    assert merge_settled(5, {}, 5, 9) == (9, {})
    assert merge_settled(9, {}, 3, 4) == (9, {})  # re-delivered and already committed
    assert merge_settled(9, {}, 7, 12) == (12, {})  # overlaps the commit point


def test_replay_keeps_json_records_as_they_are_and_stamps_publication_time():
    payload = orjson.dumps({"id": "7", "published": "2018-02-01T00:00:00Z", "title": "t", "body": "b"}).decode()
    record = replay_record(RawRecord({}, payload, "json"))
    assert record.value == payload.encode() and record.key == b"7"
    assert record.timestamp_ms == 1517443200000


def test_replay_of_a_text_file_keeps_the_file_mode_id(seed_text):
    raw = RawRecord({"file": "seed.txt"}, seed_text + "\n", "text")
    replayed = replay_record(raw)
    from_kafka = parse_record(RawRecord({}, replayed.value.decode(), "json", 0))
    assert from_kafka.id == parse_record(raw).id and replayed.timestamp_ms is None


def test_replay_passes_malformed_records_through_for_the_pipeline_to_reject():
    record = replay_record(RawRecord({}, "{broken", "json"))
    assert record.value == b"{broken" and record.key is None


class _FakeCommits:
    """Stands in for the group's KafkaConsumer: records commits, or fails like an absent broker."""

    def __init__(self) -> None:
        self.commits: list[dict[str, int]] = []
        self.away = False

    def commit(self, offsets, timeout_ms=None):
        from kafka.errors import KafkaTimeoutError

        if self.away:
            raise KafkaTimeoutError("broker away")
        self.commits.append({f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in offsets.items()})


def test_ledger_commits_each_contiguous_prefix_at_once_and_catches_up_after_a_failed_commit():
    from transforms.kafka_io import OffsetLedger

    ledger = OffsetLedger("unused:1", "group")
    fake = _FakeCommits()
    ledger._consumer = fake
    ledger.start_at({"t/0": 10, "t/1": 0})
    ledger.settle([("t/0", 11, 12)])  # written out of order: 10 is not yet
    assert ledger.positions() == {"t/0": 10, "t/1": 0}
    assert ledger.settle([("t/0", 10, 11)]) == {"t/0": 12}
    fake.away = True
    assert ledger.settle([("t/1", 0, 5)]) == {}  # nothing committed, nothing forgotten
    fake.away = False
    assert ledger.retry() == {"t/1": 5}
    assert ledger.retry() == {}
    assert fake.commits[-2:] == [{"t/0": 12}, {"t/1": 5}]
