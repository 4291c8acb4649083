"""What `marsad replay` publishes, without a broker."""

import orjson

from pipelines.replay import replay_record
from schemas.records import RawRecord
from transforms.articles import parse_record


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
