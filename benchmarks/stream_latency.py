"""Latency from producing an article to its alert (or the alert revision it causes) on the
alerts topic, through the streaming job (Prism, real Kafka broker), against a baseline measured in
the same run: the broker's own produce-to-consume round trip on a plain topic.

    docker/kafka/broker.sh start && make prism
    .venv/bin/python benchmarks/stream_latency.py [--articles 300] [--rate 20]

Prints p50/p90/p99/max in milliseconds for both, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer

from evaluation.broker import BOOTSTRAP, StreamJob
from evaluation.corpora import ROOT
from transforms.io.kafka.admin import ensure_topics

SEED = (ROOT / "seeds" / "archive" / "000_bbfb08a4edcd8083.txt").read_text("utf-8")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cut[49], "p90": cut[89], "p99": cut[98], "max": ordered[-1]}


def consumer_for(topic: str) -> KafkaConsumer:
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=None, auto_offset_reset="latest")
    while not consumer.assignment():  # join before producing, so nothing is missed
        consumer.poll(timeout_ms=100)
    return consumer


def baseline(count: int, rate: float) -> list[float]:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    ensure_topics(BOOTSTRAP, [topic])
    consumer = consumer_for(topic)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=0)
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    for i in range(count):
        key = str(i).encode()
        sent[key] = time.perf_counter()
        producer.send(topic, key=key, value=b"x" * 1500)
        producer.flush()
        time.sleep(1 / rate)
        for records in consumer.poll(timeout_ms=0).values():
            latencies.extend((time.perf_counter() - sent[r.key]) * 1000 for r in records)
    deadline = time.monotonic() + 30
    while len(latencies) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=50).values():
            latencies.extend((time.perf_counter() - sent[r.key]) * 1000 for r in records)
    return latencies


def pipeline(count: int, rate: float) -> list[float]:
    source, prefix = f"bench-in-{uuid.uuid4().hex[:8]}", f"bench-out-{uuid.uuid4().hex[:8]}"
    ensure_topics(BOOTSTRAP, [source, f"{prefix}.alerts"])
    log = Path(tempfile.mkdtemp()) / "job.log"
    job = StreamJob(source, prefix, f"bench-{uuid.uuid4().hex[:8]}", log)
    consumer = consumer_for(f"{prefix}.alerts")
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=0)
    try:
        # Warm up until the job answers: start-up is not latency.
        warm = f"warm-{uuid.uuid4().hex}"
        producer.send(source, value=orjson.dumps({"id": warm, "title": "", "body": SEED + warm, "lang": "ar"}))
        producer.flush()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(
            orjson.loads(r.value)["article_ids"][-1] == warm
            for rs in consumer.poll(timeout_ms=200).values()
            for r in rs
        ):
            if not job.alive():
                raise SystemExit(f"job exited:\n{job.log_tail()}")
        sent: dict[str, float] = {}
        first_alert: dict[str, float] = {}

        def drain(timeout_ms: int) -> None:
            for records in consumer.poll(timeout_ms=timeout_ms).values():
                for record in records:
                    # Articles of one story revise its alert: the newest article is the last id.
                    article_id = orjson.loads(record.value)["article_ids"][-1]
                    if article_id in sent and article_id not in first_alert:
                        first_alert[article_id] = (time.perf_counter() - sent[article_id]) * 1000

        for i in range(count):
            article_id = f"bench-{i}-{uuid.uuid4().hex[:6]}"
            # Each article is new text (its id appended), so dedup keeps it and it alerts.
            value = orjson.dumps({"id": article_id, "title": "", "body": f"{SEED}\n{article_id}", "lang": "ar"})
            sent[article_id] = time.perf_counter()
            producer.send(source, key=article_id.encode(), value=value)
            producer.flush()
            time.sleep(1 / rate)
            drain(0)
        deadline = time.monotonic() + 60
        while len(first_alert) < count and time.monotonic() < deadline:
            drain(50)
        if len(first_alert) < count:
            print(f"warning: {count - len(first_alert)} articles had no alert within 60 s", file=sys.stderr)
        return list(first_alert.values())
    finally:
        job.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="articles per second")
    args = parser.parse_args()
    raw = percentiles(baseline(args.articles, args.rate))
    job = percentiles(pipeline(args.articles, args.rate))
    print(f"produce -> consume latency, {args.articles} messages at {args.rate:g}/s (ms)")
    print(f"{'':28}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    print(f"{'baseline: broker round trip':28}" + "".join(f"{raw[k]:9.1f}" for k in ("p50", "p90", "p99", "max")))
    print(f"{'marsad: article -> alert':28}" + "".join(f"{job[k]:9.1f}" for k in ("p50", "p90", "p99", "max")))
    print(f"{'ratio':28}" + "".join(f"{job[k] / raw[k]:9.1f}" for k in ("p50", "p90", "p99", "max")))


if __name__ == "__main__":
    main()
