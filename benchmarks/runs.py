"""The benchmark's measured runs, each in its own process (``python -m benchmarks.runs KIND ARGS``)
so that its peak memory and CPU time are its own (``os.wait4`` of the child)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from benchmarks.corpus import articles_of, lucene_article_lines, lucene_rule_lines, read_lines, rule_documents
from evaluation.corpora import ROOT

LUCENE_DIR = ROOT / "benchmarks" / "lucene"
LUCENE_JARS = ROOT / ".cache" / "lucene-jars"
RESULT_PREFIX = "BENCHMARK-RESULT "


def measured(command: list[str], timeout: float, cwd: Path = ROOT, env: dict | None = None) -> dict[str, Any]:
    """Run a command; its last ``BENCHMARK-RESULT`` line (JSON) with its CPU seconds and peak RSS."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=env)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({process.returncode}):\n{text[-3000:]}")
    return {
        "result": orjson.loads(lines[-1][len(RESULT_PREFIX) :]),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic() - started,
        "peak_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
    }


def _emit(result: Any) -> None:
    print(RESULT_PREFIX + orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS).decode(), flush=True)


def beam_batch(path: str, count: int, workers: int) -> dict[str, Any]:
    """The files-in, files-out pipeline (``marsad run``) on ``count`` articles, DirectRunner."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.batch import run_files
    from pipelines.config import GraphConfig

    with tempfile.TemporaryDirectory(prefix="marsad-bench-") as tmp:
        source = Path(tmp, "articles.jsonl")
        source.write_bytes(b"".join(read_lines(Path(path), count)))
        mode = "in_memory" if workers == 1 else "multi_processing"
        options = PipelineOptions(
            ["--runner=DirectRunner", f"--direct_num_workers={workers}", f"--direct_running_mode={mode}"]
        )
        config = GraphConfig.load()
        started, cpu = time.monotonic(), time.process_time()
        summary = run_files([str(source)], str(Path(tmp, "out")), config, options)
        return {
            "articles": summary.read,
            "workers": workers,
            "wall_s": time.monotonic() - started,
            "run_cpu_s": time.process_time() - cpu,  # this process only (all of it with one worker)
            "reconciled": summary.reconciled,
            "unique": summary.unique,
            "alerts": summary.alerts,
            "events": summary.events,
        }


def _broker_up(bootstrap: str) -> str | None:
    try:
        from kafka import KafkaAdminClient

        KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000).close()
    except Exception as error:
        return f"no Kafka broker at {bootstrap} ({type(error).__name__}); docker/kafka/broker.sh start"
    return None


def stream(path: str, count: int, timeout: float = 600) -> dict[str, Any]:
    """The stream job on Prism over a topic holding ``count`` articles: replayed first, then read
    from the start to the end offsets seen at start (``--stop-at-end``), Kafka in and Kafka out.
    Past ``timeout`` seconds the job is stopped and the articles it wrote so far are counted."""
    from pipelines.runners.prism import prism_path
    from pipelines.settings import default_bootstrap

    bootstrap = default_bootstrap()
    problem = _broker_up(bootstrap)
    if problem is None and not prism_path().exists():
        problem = f"Prism not built at {prism_path()} (make prism, or MARSAD_PRISM)"
    if problem:
        return {"skipped": problem}
    from pipelines.replay import replay

    topic = f"bench-news-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="marsad-bench-") as tmp:
        source = Path(tmp, "articles.jsonl")
        source.write_bytes(b"".join(read_lines(Path(path), count)))
        replay([str(source)], bootstrap, topic, progress=False)
        command = [
            sys.executable, "-m", "pipelines.cli", "run",
            "--input", f"kafka://{bootstrap}/{topic}", "--output", f"kafka://{bootstrap}/{topic}-out",
            "--group", topic, "--start", "earliest", "--stop-at-end",
        ]  # fmt: skip
        started = time.monotonic()
        timed_out = False
        with open(Path(tmp, "job.log"), "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                while True:
                    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                    if pid:
                        break
                    if time.monotonic() - started > timeout:
                        # SIGTERM: the job cancels itself and its Prism (run_until_stopped).
                        timed_out = True
                        os.killpg(process.pid, signal.SIGTERM)
                        _, status, usage = os.wait4(process.pid, 0)
                        break
                    time.sleep(0.5)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        wall = time.monotonic() - started
        text = Path(tmp, "job.log").read_text("utf-8", "replace")
    done = _records(bootstrap, f"{topic}-out.articles")
    if not timed_out and (os.waitstatus_to_exitcode(status) != 0 or done == 0):
        return {"skipped": f"stream job failed: {text[-2000:]}"}
    return {
        "result": {
            "articles": done,
            "offered": count,
            "timed_out": timed_out,
            "wall_s": wall,
            # the job process and its reaped children (Prism; the SDK worker runs in the job process)
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024,
        }
    }


def _records(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values()) if partitions else 0
    finally:
        consumer.close()


def latency(count: int, rate: float) -> dict[str, Any]:
    """Produce -> alert latency through the stream job (benchmarks/stream_latency.py), against
    the broker's own round trip measured just before."""
    from pipelines.runners.prism import prism_path
    from pipelines.settings import default_bootstrap

    problem = _broker_up(default_bootstrap())
    if problem is None and not prism_path().exists():
        problem = f"Prism not built at {prism_path()} (make prism, or MARSAD_PRISM)"
    if problem:
        return {"skipped": problem}
    from benchmarks.stream_latency import baseline, percentiles, pipeline

    return {
        "articles": count,
        "rate": rate,
        "broker_ms": percentiles(baseline(count, rate)),
        "marsad_ms": percentiles(pipeline(count, rate)),
    }


def _lucene_classpath() -> str | None:
    if not (LUCENE_JARS / ".complete").exists():
        if shutil.which("mvn") is None:
            return None
        subprocess.run(
            ["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(LUCENE_DIR / "pom.xml"),
             "dependency:copy-dependencies", f"-DoutputDirectory={LUCENE_JARS}", "-DincludeScope=runtime"],
            check=True,
        )  # fmt: skip
        (LUCENE_JARS / ".complete").touch()
    return str(LUCENE_JARS / "*")


def peer(path: str, count: int, skip: int, vocabulary_articles: int, rule_counts: tuple[int, ...]) -> dict[str, Any]:
    """Lucene Monitor on the same articles and generated rules as the rule-matching stage."""
    from benchmarks.corpus import vocabulary

    if shutil.which("java") is None:
        return {"skipped": "java not found (Java 17)"}
    classpath = _lucene_classpath()
    if classpath is None:
        return {"skipped": "mvn not found (Maven fetches Lucene's jars once)"}
    corpus = Path(path)
    articles = articles_of(read_lines(corpus, skip), corpus)[:count]
    words = vocabulary(articles_of(read_lines(corpus, vocabulary_articles, skip=skip), corpus))
    rows: dict[int, Any] = {}
    with tempfile.TemporaryDirectory(prefix="marsad-bench-") as tmp:
        article_file = Path(tmp, "articles.tsv")
        article_file.write_text("\n".join(lucene_article_lines(articles)) + "\n", "utf-8")
        for rules in rule_counts:
            rule_file = Path(tmp, f"rules-{rules}.tsv")
            rule_file.write_text("\n".join(lucene_rule_lines(rule_documents(rules, words))) + "\n", "utf-8")
            command = ["java", "-Xmx1g", "-cp", classpath, str(LUCENE_DIR / "LucenePeer.java"),
                       str(article_file), str(rule_file), "3"]  # fmt: skip
            run = measured(command, timeout=1800)
            rows[rules] = {
                "lucene_ms": run["result"]["ms_per_article"],
                "lucene_matches": run["result"]["matches_per_article"],
                "lucene_compile_s": run["result"]["compile_s"],
                "lucene_peak_mb": run["peak_mb"],
            }
    return {"articles": len(articles), "rows": rows}


def main() -> None:
    kind, arguments = sys.argv[1], orjson.loads(sys.argv[2])
    if kind == "stages":
        from benchmarks.logic import stages

        arguments["path"] = Path(arguments["path"])
        arguments["rule_counts"] = tuple(arguments["rule_counts"])
        _emit(stages(**arguments))
    elif kind == "loop":
        from benchmarks.logic import plain_loop

        _emit(plain_loop(Path(arguments["path"]), arguments["count"]))
    elif kind == "beam":
        _emit(beam_batch(**arguments))
    else:
        raise SystemExit(f"unknown run {kind!r}")


if __name__ == "__main__":
    main()
