"""Throughput ceiling and state of the keyed story step on the Flink session cluster.

The story index is one key ("stories"): on Flink it runs in one task slot and one SDK worker
whatever --parallelism says, so it bounds the whole job. Measured in one run:
- baseline: StoryIndex.decide in a plain loop (one process, no Beam) on the same articles — the
  logic's own ceiling;
- on Flink (batch, the session cluster): files -> Parse -> Prepare (parallel) -> the story step,
  which is the project's own DoFn with its BagState log. Each article leaving the step records
  the wall clock in a Beam distribution; articles / (last - first) is the step's rate with its
  state access over the Fn API. Flink's batch translation groups the key before the step, so the
  step does not wait for its input while it runs;
- state: the step's bytes per remembered article, and the articles it remembers.

    docker/flink/cluster.sh start
    .venv/bin/python benchmarks/flink_story_step.py [--articles 2000] [--parallelism 2]
        [--environment external:localhost:50000]   # a worker pool: worker_pool_main --service_port=50000
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import orjson
from apache_beam.metrics.metric import Metrics, MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from evaluation.corpora import ANT as CORPUS
from pipelines.config import GraphConfig
from pipelines.runners.flink import FlinkJobServer, flink_options
from pipelines.settings import DEFAULT_RETENTION_SECONDS
from schemas.records import Article
from transforms.articles import event_time_ms
from transforms.beam.common import DEAD, SWEPT
from transforms.beam.parse import ParseArticles
from transforms.beam.prepare import _PrepareDoFn
from transforms.beam.stories import _StoryDoFn
from transforms.dedup import canonical_url, content_fingerprint
from transforms.io.files.source import ReadArticleFiles
from transforms.similarity import signature
from transforms.stories import DEFAULT_THRESHOLDS, StoryIndex

NAMESPACE = "bench"


def sample(size: int, target: Path) -> list[dict]:
    stride = max(1, 31523 // size)
    with gzip.open(CORPUS, "rb") as source:
        lines = list(itertools.islice(source, 0, size * stride, stride))
    target.write_bytes(b"".join(lines))
    return [orjson.loads(line) for line in lines]


def baseline(rows: list[dict]) -> tuple[float, int]:
    articles = [
        Article(d["id"], d["source"], d["url"], d["published"], d["title"] or "", d["body"] or "", "ar") for d in rows
    ]
    prepared = [(a, content_fingerprint(a), canonical_url(a.url), signature(a.title, a.body)) for a in articles]
    index = StoryIndex(DEFAULT_RETENTION_SECONDS)
    started = time.perf_counter()
    for article, fingerprint, url, sig in prepared:
        index.decide(article.id, (event_time_ms(article) or 0) / 1000, fingerprint, url, sig, article.source)
    return time.perf_counter() - started, index.stories_created


def stamp(element: object) -> object:
    Metrics.distribution(NAMESPACE, "left_story_ms").update(int(time.time() * 1000))
    return element


def on_flink(path: Path, master: str, parallelism: int, environment: str) -> dict[str, float]:
    config = GraphConfig.load()
    extra = [f"--parallelism={parallelism}"]
    if environment.startswith("external:"):
        extra += ["--environment_type=EXTERNAL", f"--environment_config={environment.split(':', 1)[1]}"]
    with FlinkJobServer(master) as endpoint:
        options = PipelineOptions(flink_options(master, extra=extra, job_endpoint=endpoint))
        pipeline = beam.Pipeline(options=options)
        read = pipeline | "ReadFiles" >> ReadArticleFiles([str(path)])
        parsed = read.records | "Parse" >> ParseArticles()
        prepared = parsed.articles | "Prepare" >> beam.ParDo(_PrepareDoFn(config.rules)).with_outputs(
            DEAD, main="keyed"
        )
        decided = prepared.keyed | "StoryIndex" >> beam.ParDo(
            _StoryDoFn(config.retention_seconds, DEFAULT_THRESHOLDS)
        ).with_outputs(DEAD, SWEPT, main="decided")
        _ = decided.decided | "Stamp" >> beam.Map(stamp)
        started = time.perf_counter()
        result = pipeline.run()
        result.wait_until_finish()
        job_seconds = time.perf_counter() - started
        distributions = result.metrics().query(MetricsFilter())["distributions"]  # from the job server
    figures = {"job_seconds": job_seconds}
    for d in distributions:
        value = d.committed or d.attempted
        if d.key.metric.name == "left_story_ms":
            figures["step_seconds"] = (value.max - value.min) / 1000
            figures["articles"] = value.count
        if d.key.metric.name == "state_bytes_per_article":
            figures["state_bytes_per_article"] = value.sum / value.count
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--flink-master", default="localhost:8081")
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--environment", default="loopback", help="loopback, or external:HOST:PORT (a worker pool)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "sample.jsonl"
        rows = sample(args.articles, path)
        base_seconds, stories = baseline(rows)
        flink = on_flink(path, args.flink_master, args.parallelism, args.environment)
    n = len(rows)
    step = flink.get("step_seconds") or float("nan")
    print(f"{n} articles, {stories} stories; Flink session cluster, parallelism {args.parallelism}, {args.environment}")
    print(f"{'story step':44}{'seconds':>9}{'articles/s':>12}")
    print(f"{'baseline: StoryIndex.decide, plain loop':44}{base_seconds:9.2f}{n / base_seconds:12.0f}")
    print(f"{'on Flink: the keyed step with its state':44}{step:9.2f}{flink.get('articles', 0) / step:12.0f}")
    print(f"whole Flink job (submission included): {flink['job_seconds']:.0f} s")
    per_article = flink.get("state_bytes_per_article", 0)
    print(f"state: {per_article:.0f} bytes per remembered article; {n} remembered = {per_article * n / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
