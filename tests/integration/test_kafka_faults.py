"""An unattended stream job against the real broker: retention, poison records, size limits,
commits that catch up, a quiet stop. (Kill -9, restart and a paused broker are in
test_kafka_integration.py, on the restart test's job.)"""

from __future__ import annotations

import signal
import time

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from evaluation.broker import StreamJob, TopicReader, group_lag, unique_name
from evaluation.pytest_plugin import require_broker, require_prism
from pipelines.cli import main
from transforms.io.kafka.admin import topic_retention_ms

from .test_kafka_integration import TIMEOUT, lost, output_topics, settled_inputs, write_sample

pytestmark = pytest.mark.kafka

DAY_MS = 86_400_000
OLD = 1_514_764_800_000  # 2018-01-01T00:00:00Z


def old_articles(count: int) -> list[dict]:
    """Articles published a week apart in 2018: each one past the broker's default retention, and
    far enough apart that the broker rolls a log segment for each (so retention could delete it)."""
    return [
        {"id": f"old-{i}", "published": f"2018-{1 + i // 4:02d}-{1 + 7 * (i % 4):02d}T10:00:00Z",
         "title": f"خبر قديم {i}", "body": f"نص الخبر القديم رقم {i} عن اجتماع في جنيف."}
        for i in range(count)
    ]  # fmt: skip


def offsets(topic: str) -> tuple[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=require_broker())
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.beginning_offsets(tps).values()), sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def test_a_replayed_archive_outlives_the_brokers_retention_check(tmp_path):
    broker = require_broker()
    archive = tmp_path / "old.jsonl"
    articles = old_articles(12)
    archive.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in articles))
    kept, control = unique_name("news"), unique_name("control")
    assert main(["replay", str(archive), "--topic", kept, "--bootstrap", broker, "--no-progress"]) == 0
    assert topic_retention_ms(broker, kept) == -1
    # The same records in a topic with the broker's default retention (7 days), written directly.
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic(control, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker)
    for article in articles:
        producer.send(control, orjson.dumps(article), timestamp_ms=OLD + articles.index(article) * 7 * DAY_MS)
    producer.flush()
    producer.close()
    time.sleep(13)  # docker/kafka/server.properties.in: the broker checks retention every 5 s
    begin, end = offsets(control)
    assert end == len(articles) and begin > 0, "the control topic should have lost old records to retention"
    assert offsets(kept) == (0, len(articles))
    consumer = KafkaConsumer(kept, bootstrap_servers=broker, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    read_back = {orjson.loads(record.value)["id"] for record in consumer}
    consumer.close()
    assert read_back == {a["id"] for a in articles}


def test_replay_refuses_a_topic_whose_retention_would_delete_the_archive(tmp_path, capsys):
    broker = require_broker()
    archive = tmp_path / "old.jsonl"
    archive.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in old_articles(2)))
    topic = unique_name("short")
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic(topic, 1, 1)])  # the broker's default: 7 days
    admin.close()
    assert main(["replay", str(archive), "--topic", topic, "--bootstrap", broker, "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert "replay refused" in message and "retention.ms=604800000" in message and "2018-01-01" in message
    assert offsets(topic) == (0, 0), "nothing was written"
    created = unique_name("kept")
    assert main(["topics", "create", created, topic, "--bootstrap", broker]) == 0
    lines = capsys.readouterr().out
    assert f"{created} on {broker}: created (retention.ms=-1)" in lines and f"{topic} on {broker}: exists" in lines
    assert topic_retention_ms(broker, created) == -1
    assert main(["replay", str(archive), "--topic", created, "--bootstrap", broker, "--no-progress"]) == 0


ARTICLE_LIMIT = 300_000
BROKER_LIMIT = 200_000  # max.message.bytes of the output articles topic


def poison_records() -> list[tuple[str, bytes | None, bytes | None]]:
    """(case, key, value) of every kind of bad input, and two good ones that look odd."""
    article = {"published": "2018-03-01T10:00:00Z", "title": "هدنة", "lang": "ar"}
    return [
        ("not json", None, b"{not json"),
        ("wrong shape", None, b"[1, 2, 3]"),
        ("wrong field type", None, b'{"id": "typed", "title": 7}'),
        ("invalid utf-8", None, b'{"id": "x", "body": "\xff\xfe"}'),
        ("empty", None, b""),
        ("tombstone", b"gone", None),
        ("oversized", b"big", orjson.dumps({**article, "id": "big", "body": "ب" * 200_000})),  # 400 KB
        ("too large for the sink", b"sinkbig", orjson.dumps({**article, "id": "sinkbig", "body": "كتاب " * 26_000})),
        ("bom", b"bom", b"\xef\xbb\xbf" + orjson.dumps({**article, "id": "bom", "body": "أعلن وقف إطلاق النار."})),
    ]


@pytest.fixture(scope="module")
def prism() -> None:
    require_broker()
    require_prism()


@pytest.mark.corpus
def test_poison_records_oversize_and_a_quiet_stop_with_lag_zero(prism, corpus_path, tmp_path, capsys):
    broker = require_broker()
    source, prefix, group = unique_name("news"), unique_name("out"), unique_name("group")
    sample = write_sample(corpus_path, tmp_path / "sample.jsonl", size=120, stride=37)
    assert main(["replay", str(sample), "--topic", source, "--bootstrap", broker, "--no-progress"]) == 0
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic(f"{prefix}.articles", 3, 1, topic_configs={"max.message.bytes": str(BROKER_LIMIT)})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker, max_request_size=2_000_000)
    for _case, key, value in poison_records():
        producer.send(source, key=key, value=value, timestamp_ms=OLD + 60 * DAY_MS)
    producer.flush()
    producer.close()
    published = 120 + len(poison_records())
    reader = TopicReader(output_topics(prefix))
    job = StreamJob(source, prefix, group, tmp_path / "job.log", "--max-article-bytes", str(ARTICLE_LIMIT),
                    "--progress-seconds", "2")  # fmt: skip
    try:
        done = reader.poll_until(lambda r: settled_inputs(r, prefix) >= published, TIMEOUT, job)
        assert done, f"{settled_inputs(reader.records, prefix)} of {published} inputs came out\n{job.log_tail()}"
        # Commits catch up while the job runs: lag 0 within seconds of the last record written.
        deadline = time.monotonic() + 15
        while sum(group_lag(group, source).values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert group_lag(group, source) == {0: 0, 1: 0, 2: 0}, job.log_tail()
        reader.poll_until(lambda r: False, 2)
    finally:
        status = job.stop(signal.SIGTERM)
        reader.close()
    log = job.log_path.read_text(errors="replace")
    assert status == 0 and "Traceback" not in log, log[-4000:]
    assert "marsad: stopping the job (SIGTERM)" in log and "articles read" in log
    assert "marsad: progress in" in log and f"{source}/0=" in log and "watermark delay" in log
    assert group_lag(group, source) == {0: 0, 1: 0, 2: 0}
    assert main(["topics", "lag", source, "--group", group, "--bootstrap", broker]) == 0
    assert f"lag 0 (group {group})" in capsys.readouterr().out

    records = reader.records
    dead = {}
    for letter in records[f"{prefix}.deadletter"]:
        if lost(letter):
            dead[(letter["origin"]["partition"], letter["origin"]["offset"])] = letter
    reasons = sorted(d["reason"].split(":")[0] for d in dead.values())
    assert reasons == sorted([
        "not valid JSON", "expected a JSON object, got list", "field 'title' must be a string, got int",
        "record value is not valid UTF-8", "not valid JSON", "record has no value (tombstone)",
        "too_large", "too_large",
    ]), reasons  # fmt: skip
    by_stage = {d["stage"] for d in dead.values() if d["reason"].startswith("too_large")}
    assert by_stage == {"read", "write"}
    for letter in dead.values():
        if letter["reason"].startswith("too_large"):
            assert letter["origin"]["size_bytes"] > BROKER_LIMIT and len(letter["raw"]) <= 2000
    articles = {a["id"]: a for a in records[f"{prefix}.articles"]}
    assert "bom" in articles and "big" not in articles and "sinkbig" not in articles
    assert len(articles) + len(dead) == published
    # Alerts are deterministic: deduplicated by id, each names one (rule, story).
    by_id = {}
    for alert in records[f"{prefix}.alerts"]:
        by_id.setdefault(alert["alert_id"], set()).add((alert["rule_id"], alert["story_id"]))
    assert all(len(keys) == 1 for keys in by_id.values())


def test_the_sink_survives_a_size_refusal_it_did_not_foresee():
    """The topic's limit changed under a running job: the broker refuses the record, which poisons
    kafka-python's producer; the sink starts a new one, writes the innocent records and a
    too_large dead letter in place of the big one."""
    from schemas.records import Article, ArticleResult
    from transforms.io.kafka.address import KafkaAddress
    from transforms.io.kafka.admin import ensure_topics
    from transforms.io.kafka.sink import _WriteToTopicsDoFn

    broker = require_broker()
    prefix = unique_name("out")
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic(f"{prefix}.articles", 1, 1, topic_configs={"max.message.bytes": str(BROKER_LIMIT)})])
    admin.close()
    ensure_topics(broker, [f"{prefix}.deadletter"], 1)

    def result(article_id: str, body: str, offset: int) -> ArticleResult:
        origin = {"topic": "in", "partition": 0, "offset": offset}
        return ArticleResult(Article(article_id, "s", None, None, "", body, "ar", origin=origin))

    writer = _WriteToTopicsDoFn(broker, KafkaAddress(broker, prefix), None, {})
    writer.setup()
    writer._max_bytes = {}  # as if the limit was lowered after the job looked it up
    try:
        writer.start_bundle()
        for element in (result("a", "نص قصير", 0), result("big", "كتاب " * 26_000, 1), result("b", "نص آخر", 2)):
            writer.process(element)
        writer.finish_bundle()
    finally:
        writer.teardown()
    consumer = KafkaConsumer(f"{prefix}.articles", f"{prefix}.deadletter", bootstrap_servers=broker,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)  # fmt: skip
    by_topic: dict[str, list[dict]] = {}
    for record in consumer:
        by_topic.setdefault(record.topic, []).append(orjson.loads(record.value))
    consumer.close()
    assert sorted(a["id"] for a in by_topic[f"{prefix}.articles"]) == ["a", "b"]
    (dead,) = by_topic[f"{prefix}.deadletter"]
    assert dead["stage"] == "write" and dead["reason"].startswith("too_large") and dead["article_id"] == "big"
    assert dead["origin"]["offset"] == 1 and dead["origin"]["size_bytes"] > BROKER_LIMIT
