"""Driving the real Kafka broker (docker/kafka/broker.sh) and streaming jobs from outside.

The integration tests and the latency benchmark both start ``marsad run`` as a user would and
read its topics back; the pytest side (skip or fail when the broker is missing) is in
``evaluation.pytest_plugin``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from evaluation.corpora import ROOT
from pipelines.settings import DEFAULT_BOOTSTRAP

BOOTSTRAP = DEFAULT_BOOTSTRAP  # the broker the tests and benchmarks drive


def unique_name(prefix: str) -> str:
    """A topic or group name no earlier run used, so runs never read each other's records."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class StreamJob:
    """``marsad run`` on Kafka in its own process group, as a user would start it."""

    def __init__(self, source: str, output: str, group: str, log_path: Path, *extra: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable, "-m", "pipelines.cli", "run",
            "--input", f"kafka://{BOOTSTRAP}/{source}",
            "--output", f"kafka://{BOOTSTRAP}/{output}",
            "--group", group, *extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        """Whether the job's process is still running."""
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        """Signal the job's whole process group, escalate to SIGKILL, and give its exit code."""
        if self.alive():
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # Prism runs as a child of the job: make sure nothing of the group outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The end of the job's log, for assertion messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def group_lag(group: str, topic: str) -> dict[int, int]:
    """End offset minus committed offset, per partition: what an operator's lag tool shows."""
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(tps)
        return {tp.partition: ends[tp] - (consumer.committed(tp) or 0) for tp in tps}
    finally:
        consumer.close()


def children_named(pid: int, name: str) -> list[int]:
    """Processes whose parent is ``pid`` and whose command name starts with ``name`` (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            command = fields[0].split("(", 1)[1]
            parent = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and command.startswith(name):
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def broker_pid() -> int | None:
    """The pid of the broker docker/kafka/broker.sh started for BOOTSTRAP's port, if any."""
    port = BOOTSTRAP.rsplit(":", 1)[1]
    home = Path(os.environ.get("MARSAD_KAFKA_HOME", ROOT / ".cache" / "kafka"))
    pidfile = home / f"broker-{port}.pid"
    return int(pidfile.read_text().strip()) if pidfile.exists() else None


class TopicReader:
    """Accumulates every record of some topics, from the beginning."""

    def __init__(self, topics: Iterable[str]) -> None:
        self._consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=BOOTSTRAP,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: dict[str, list[dict[str, Any]]] = {topic: [] for topic in topics}

    def poll_until(
        self, done: Callable[[dict[str, list[dict[str, Any]]]], bool], timeout: float, job: StreamJob | None = None
    ) -> bool:
        """Read until ``done`` holds (True) or the timeout passes (False); fails if the job exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in self._consumer.poll(timeout_ms=500).values():
                for record in records:
                    self.records[record.topic].append(orjson.loads(record.value))
            if done(self.records):
                return True
            if job is not None and not job.alive():
                raise AssertionError(f"the job exited early:\n{job.log_tail()}")
        return False

    def close(self) -> None:
        """Leave the topics (no group, so nothing is committed)."""
        self._consumer.close()
