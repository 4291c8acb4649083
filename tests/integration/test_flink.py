"""marsad on Apache Flink: batch equal to the DirectRunner, and a Kafka stream job that stops with a
savepoint and resumes from it with its dedup state.

Needs the local session cluster and the job-server jar (docker/flink/with-cluster.sh starts and
stops both around a command; .ci/run does), the Kafka broker for the stream test, and the corpus.
Skips when the cluster does not answer, except under CI=true, where that fails.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from evaluation.broker import BOOTSTRAP, StreamJob, TopicReader, group_lag, unique_name
from evaluation.pytest_plugin import require_broker
from pipelines.cli import main
from transforms.stories import story_alert_id

from ..conftest import ROOT, SEED_FILE, SEEDS, read_jsonl
from .test_kafka_integration import SAMPLE_SIZE, output_topics, write_sample

pytestmark = pytest.mark.flink

FLINK_MASTER = os.environ.get("MARSAD_FLINK_MASTER", "localhost:8081")
REPRINT_ID = "reprint-of-seed"
TIMEOUT = 600


def flink_rest(path: str) -> dict:
    with urllib.request.urlopen(f"http://{FLINK_MASTER}{path}", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def flink() -> str:
    """The session cluster's REST address; skips (fails under CI=true) without cluster or jar."""
    from pipelines.runners.flink import flink_job_server_jar

    problem = None
    if not flink_job_server_jar().exists():
        problem = f"no Flink job server at {flink_job_server_jar()} (docker/flink/job-server.sh build)"
    else:
        try:
            if flink_rest("/overview").get("taskmanagers", 0) < 1:
                problem = f"the Flink cluster at {FLINK_MASTER} has no TaskManager"
        except OSError as error:
            problem = f"no Flink cluster at {FLINK_MASTER} (docker/flink/cluster.sh start): {error}"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return FLINK_MASTER


@pytest.fixture(scope="module")
def inputs(corpus_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed archive, a 1,000-article corpus sample, and a reprint of the seed article under
    another id and site (a `duplicate` of it, which adds a revision to the seed's alerts)."""
    directory = tmp_path_factory.mktemp("flink-inputs")
    body = SEED_FILE.read_text(encoding="utf-8").strip()
    reprint = directory / "reprint.jsonl"
    reprint.write_bytes(
        orjson.dumps({"id": REPRINT_ID, "source": "reprint.example", "url": "https://reprint.example/a",
                      "title": "", "body": body, "lang": "ar"}) + b"\n"
    )  # fmt: skip
    return {
        "seeds": SEEDS / "archive",
        "sample": write_sample(corpus_path, directory / "sample.jsonl"),
        "reprint": reprint,
    }


@pytest.fixture(scope="module")
def reference(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DirectRunner's batch outputs for all the inputs."""
    out = tmp_path_factory.mktemp("direct")
    assert main(["run", "--input", *map(str, inputs.values()), "--output", str(out)]) == 0
    return out


def comparable(record: dict) -> bytes:
    record = {k: v for k, v in record.items() if k != "detected_at"}
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


@pytest.mark.corpus
def test_batch_on_the_flink_cluster_equals_the_direct_runner(flink, inputs, reference, tmp_path, capsys):
    out = tmp_path / "flink"
    started = time.monotonic()
    code = main(["run", "--runner", "flink", "--flink-master", flink, "--input", *map(str, inputs.values()),
                 "--output", str(out)])  # fmt: skip
    seconds = time.monotonic() - started
    assert code == 0
    assert "articles read   1002" in capsys.readouterr().out
    for kind in ("articles", "alerts", "events", "deadletter"):
        expected = sorted(map(comparable, read_jsonl(reference, kind)))
        actual = sorted(map(comparable, read_jsonl(out, kind)))
        assert actual == expected, f"{kind} on Flink differ from the DirectRunner's"
    print(f"batch on the Flink session cluster: {seconds:.0f} s")


def story_names(articles: list[dict]) -> dict[str, str]:
    """A story's id comes from whichever member arrived first: file order in batch, the interleaving
    of partitions in a stream. Naming each story by its smallest member id instead compares
    everything but that order (which articles share a story, statuses, alerts and revisions)."""
    members: dict[str, set[str]] = {}
    for article in articles:
        members.setdefault(article["dedup"]["story_id"], set()).add(article["id"])
    return {story: min(ids) for story, ids in members.items()}


def latest_alerts(alerts: list[dict], names: dict[str, str]) -> dict[tuple, tuple]:
    latest: dict[str, dict] = {}
    for alert in alerts:
        assert alert["alert_id"] == story_alert_id(alert["rule_id"], alert["story_id"])
        if alert["revision"] >= latest.get(alert["alert_id"], {"revision": 0})["revision"]:
            latest[alert["alert_id"]] = alert
    return {
        (a["rule_id"], names[a["story_id"]]): (a["revision"], a["mention_count"], tuple(sorted(a["article_ids"])))
        for a in latest.values()
    }


def dedup_view(article: dict, names: dict[str, str]) -> tuple:
    dedup = article["dedup"]
    return article["id"], dedup["status"], names[dedup["story_id"]], dedup["duplicate_of"]


def job_states(name_prefix: str) -> list[str]:
    return [job["state"] for job in flink_rest("/jobs/overview")["jobs"] if job["name"].startswith(name_prefix)]


def create_topic(name: str) -> None:
    # A replayed archive carries its publication times (2018 here); under the broker's time-based
    # retention those records would be deleted within minutes of the replay.
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    try:
        admin.create_topics([NewTopic(name, 3, 1, topic_configs={"retention.ms": "-1"})])
    finally:
        admin.close()


@pytest.mark.corpus
def test_stream_on_flink_equals_batch_and_resumes_from_a_savepoint(flink, inputs, reference, tmp_path):
    bootstrap = require_broker()
    source, prefix, group = unique_name("news"), unique_name("out"), unique_name("group")
    create_topic(source)
    # The backlog case: the archive is on the topic before the job starts, with old event times.
    assert main(["replay", str(inputs["seeds"]), str(inputs["sample"]), "--topic", source,
                 "--bootstrap", bootstrap, "--no-progress"]) == 0  # fmt: skip
    published = 1 + SAMPLE_SIZE
    flink_args = ("--runner", "flink", "--flink-master", flink, "--checkpointing_interval=5000")
    reader = TopicReader(output_topics(prefix))
    # No retry: a start that does not read is a failure (benchmarks/flink_starts.py counts them).
    first = StreamJob(source, prefix, group, tmp_path / "first.log", *flink_args)
    try:
        started = time.monotonic()
        done = reader.poll_until(lambda r: len(r[f"{prefix}.articles"]) >= published, TIMEOUT, first)
        count = len(reader.records[f"{prefix}.articles"])
        assert done, f"{count} of {published} articles\n{first.log_tail()}"
        first_seconds = time.monotonic() - started
    finally:
        code = first.stop(signal.SIGTERM, timeout=240)
    log = first.log_path.read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert job_states(f"marsad-{group}-") == ["FINISHED"], "stopped with a savepoint: FINISHED, not FAILED"
    savepoint = re.search(r"stopped with savepoint (\S+)", log)
    assert savepoint, log[-3000:]
    # The summary counts are the job's own, and reconcile.
    assert f"articles read   {published}\n" in log and "(reconciled:" in log, log[-2000:]

    reference_articles = read_jsonl(reference, "articles")
    reference_names = story_names(reference_articles)
    expected_articles = {dedup_view(a, reference_names) for a in reference_articles}
    reference_alerts = read_jsonl(reference, "alerts")
    before_reprint = [a for a in reference_alerts if REPRINT_ID not in a["article_ids"]]
    reader.poll_until(lambda r: False, 3)
    names = story_names(reader.records[f"{prefix}.articles"])
    assert latest_alerts(reader.records[f"{prefix}.alerts"], names) == latest_alerts(before_reprint, reference_names)

    # Restart from the savepoint, then a reprint of the seed arrives: still a duplicate of it,
    # and the seed's alerts get their next revision under the same ids.
    second = StreamJob(source, prefix, group, tmp_path / "second.log", *flink_args,
                       f"--savepoint_path={savepoint.group(1)}")  # fmt: skip
    try:
        assert main(["replay", str(inputs["reprint"]), "--topic", source, "--bootstrap", bootstrap,
                     "--no-progress"]) == 0  # fmt: skip
        done = reader.poll_until(lambda r: any(a["id"] == REPRINT_ID for a in r[f"{prefix}.articles"]), TIMEOUT, second)
        assert done, second.log_tail()
        reader.poll_until(lambda r: False, 3)
    finally:
        code = second.stop(signal.SIGTERM, timeout=240)
        reader.close()
    log = second.log_path.read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert "articles read   1\n" in log, "the restarted job read only the new record"
    articles = reader.records[f"{prefix}.articles"]
    assert len(articles) == published + 1, "every article out exactly once over both jobs"
    names = story_names(articles)
    assert {dedup_view(a, names) for a in articles} == expected_articles
    assert latest_alerts(reader.records[f"{prefix}.alerts"], names) == latest_alerts(reference_alerts, reference_names)
    print(f"stream on the Flink session cluster: {first_seconds:.0f} s for {published} articles")


def test_a_backfill_on_flink_ends_with_its_counts(flink, inputs, tmp_path):
    """--max-records (as --stop-at-end) on a Flink stream job: once every partition is read to its
    stop and written, marsad stops the job with a savepoint (FINISHED), prints the counts, exits 0."""
    bootstrap = require_broker()
    source, prefix, group = unique_name("news"), unique_name("out"), unique_name("group")
    create_topic(source)
    assert main(["replay", str(inputs["sample"]), "--topic", source, "--bootstrap", bootstrap,
                 "--no-progress"]) == 0  # fmt: skip
    per_partition = 40
    job = StreamJob(source, prefix, group, tmp_path / "backfill.log", "--runner", "flink", "--flink-master", flink,
                    "--checkpointing_interval=5000", "--max-records", str(per_partition))  # fmt: skip
    try:
        job.process.wait(TIMEOUT)
    finally:
        code = job.stop(signal.SIGTERM, timeout=60)
    log = job.log_path.read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert "every partition read to its stop offset and written" in log, log[-3000:]
    read = 3 * per_partition
    assert f"articles read   {read}\n" in log and "(reconciled:" in log, log[-2000:]
    assert job_states(f"marsad-{group}-") == ["FINISHED"]
    assert sum(group_lag(group, source).values()) == SAMPLE_SIZE - read
    reader = TopicReader(output_topics(prefix))
    try:
        reader.poll_until(lambda r: len(r[f"{prefix}.articles"]) >= read, 30)
        reader.poll_until(lambda r: False, 3)
    finally:
        reader.close()
    assert len({a["id"] for a in reader.records[f"{prefix}.articles"]}) == read


def test_compose_file_matches_the_scripts() -> None:
    """docker/compose.yaml (for Docker users; no engine here) runs what the scripts run: the same
    Flink version and memory settings, the job server from the same pom, the job submitted to it."""
    import yaml

    flink_dir = ROOT / "docker" / "flink"
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    found = re.search(r'flink_version="([\d.]+)"', (flink_dir / "cluster.sh").read_text())
    assert found, "cluster.sh names no flink_version"
    version = found.group(1)
    for name in ("jobmanager", "taskmanager"):
        assert services[name]["image"].startswith(f"flink:{version}-"), name
    conf = yaml.safe_load(re.sub(r"@\w+@", "x", (flink_dir / "config.yaml.in").read_text()))
    compose_conf = yaml.safe_load(services["taskmanager"]["environment"]["FLINK_PROPERTIES"])
    for key in (
        "taskmanager.numberOfTaskSlots",
        "taskmanager.memory.process.size",
        "taskmanager.memory.network.min",
        "taskmanager.memory.network.max",
        "jobmanager.memory.process.size",
        "state.backend.type",
    ):
        assert compose_conf[key] == conf[key], key
    dockerfile = services["flink-job-server"]["build"]["dockerfile"]
    assert dockerfile == "docker/flink/Dockerfile.job-server"
    built = (ROOT / dockerfile).read_text()
    assert "COPY docker/flink/pom.xml" in built
    from pipelines.runners.flink import FLINK_JOB_SERVER_JAR

    assert FLINK_JOB_SERVER_JAR in built
    command = services["marsad-flink"]["command"]
    assert command[command.index("--runner") + 1] == "flink"
    assert (
        command[command.index("--flink-master") + 1] == "jobmanager:" + services["jobmanager"]["ports"][0].split(":")[1]
    )
    assert "--environment_type=EXTERNAL" in command
    assert services["python-worker-pool"]["network_mode"] == "service:taskmanager"
    assert "--environment_config=localhost:50000" in command
