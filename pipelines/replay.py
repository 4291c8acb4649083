"""``marsad replay``: publish an archive of articles to a Kafka topic, each record stamped with the
article's own publication time, as fast as possible or at a multiple of real time."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson
from kafka import KafkaProducer
from tqdm import tqdm

from schemas.records import RawRecord
from transforms.articles import published_ms
from transforms.io.files.reader import expand_inputs, read_file
from transforms.io.kafka.admin import KEEP_RECORDS, ensure_topics, retention_problem, topic_retention_ms
from transforms.text import detect_lang


class ReplayRefusedError(RuntimeError):
    """Replaying would lose what it writes (e.g. the topic's retention deletes old records)."""


@dataclass(frozen=True)
class ReplayRecord:
    """One record as it goes on the topic: key (the article id, for the partitioner), value and
    the publication time that stamps it."""

    key: bytes | None
    value: bytes
    timestamp_ms: int | None  # None: the article has no usable publication time


def replay_record(record: RawRecord) -> ReplayRecord:
    """What goes on the topic for one archive record. JSON records go as they are, malformed ones
    included (the pipeline turns those into dead letters); a text file becomes a JSON article
    whose id is the one file mode gives it."""
    if record.format == "text":
        body = record.payload.strip()
        value = orjson.dumps({"title": "", "body": body, "lang": detect_lang(body)})
        return ReplayRecord(None, value, None)
    try:
        data = orjson.loads(record.payload)
    except orjson.JSONDecodeError:
        return ReplayRecord(None, record.payload.encode("utf-8"), None)
    if not isinstance(data, dict):
        return ReplayRecord(None, record.payload.encode("utf-8"), None)
    key = str(data["id"]).encode("utf-8") if data.get("id") not in (None, "") else None
    published = data.get("published")
    timestamp = published_ms(published) if isinstance(published, str) else None
    return ReplayRecord(key, record.payload.encode("utf-8"), timestamp)


def archive_records(paths: Iterable[str]) -> Iterator[ReplayRecord]:
    """Every record of the archive, in file order, unreadable ones included: the job, not the
    replay, decides what becomes a dead letter."""
    files, _ = expand_inputs(paths)
    for path in files:
        for record in read_file(path):
            if isinstance(record, RawRecord):
                yield replay_record(record)
            elif record.raw is not None:  # unreadable bytes still go out, for the pipeline to reject
                yield ReplayRecord(None, record.raw.encode("utf-8"), None)


@dataclass(frozen=True)
class ReplayReport:
    """What ``marsad replay`` prints: how many records went out, how many had no time, how long."""

    records: int
    without_time: int
    seconds: float


def replay(
    paths: Iterable[str],
    bootstrap: str,
    topic: str,
    speed: float | None = None,
    progress: bool = True,
    in_publication_order: bool = True,
) -> ReplayReport:
    """Publish; ``speed`` None means as fast as possible, else the gaps between publication times
    are replayed divided by ``speed`` (records without a time are sent without waiting).

    Records go out in publication order (records without a time last), as the news happened,
    unless ``in_publication_order`` is False (archive order). A stream job judges a record that
    arrives more than its allowed lateness behind the watermark against partly forgotten dedup
    state; an archive in file order (by outlet, years apart) would make most records that late."""
    records = list(archive_records(paths))
    if in_publication_order:
        records.sort(key=lambda r: (r.timestamp_ms is None, r.timestamp_ms or 0))
    # A topic marsad creates keeps its records; an existing one must not delete an archive's
    # old timestamps at its next retention check (the job would then read nothing, silently).
    if not ensure_topics(bootstrap, [topic], configs=KEEP_RECORDS):
        stamped = [r.timestamp_ms for r in records if r.timestamp_ms is not None]
        retention = topic_retention_ms(bootstrap, topic)
        if stamped and retention is not None:
            problem = retention_problem(topic, retention, min(stamped), int(time.time() * 1000))
            if problem:
                raise ReplayRefusedError(problem)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    started = time.monotonic()
    previous_ms: int | None = None
    without_time = 0
    try:
        for record in tqdm(records, desc=f"replay -> {topic}", unit="article", disable=not progress, file=sys.stderr):
            timestamp = record.timestamp_ms
            if timestamp is None:
                without_time += 1
                timestamp = int(time.time() * 1000)
            elif speed and previous_ms is not None and timestamp > previous_ms:
                time.sleep((timestamp - previous_ms) / 1000 / speed)
            if record.timestamp_ms is not None:
                previous_ms = timestamp
            producer.send(topic, key=record.key, value=record.value, timestamp_ms=timestamp)
        producer.flush()
    finally:
        producer.close()
    return ReplayReport(len(records), without_time, time.monotonic() - started)
