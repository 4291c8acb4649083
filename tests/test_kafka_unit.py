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
