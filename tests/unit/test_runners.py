"""Which runner each mode gets, and the one child-process helper behind Prism and the Flink job server."""

from __future__ import annotations

import signal
import sys

import pytest

from pipelines.runners import choose_runner, is_flink
from pipelines.runners.process import ChildServer

LISTENER = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)"
)
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def test_batch_runs_on_the_direct_runner_with_the_users_options_last() -> None:
    with choose_runner("batch", None, ["--direct_num_workers=2"]) as chosen:
        assert chosen.options == ["--runner=DirectRunner", "--direct_num_workers=2"]
        assert chosen.flink_master is None


def test_a_named_stream_runner_is_handed_to_beam_with_streaming_on() -> None:
    with choose_runner("stream", "DataflowRunner", ["--project=x"]) as chosen:
        assert chosen.options == ["--runner=DataflowRunner", "--streaming", "--project=x"]


@pytest.mark.parametrize(
    ("name", "expected"), [("flink", True), ("FlinkRunner", True), ("Prism", False), (None, False)]
)
def test_flink_is_recognised_by_either_name(name: str | None, expected: bool) -> None:
    assert is_flink(name) is expected


def test_child_server_is_seen_listening_and_stopped() -> None:
    server = ChildServer(lambda port: [sys.executable, "-c", LISTENER, str(port)])
    try:
        assert server.wait_listening(timeout=20, interval=0.05) == "listening"
    finally:
        server.stop(grace=5, kill_grace=5)
    assert server.process.returncode == -signal.SIGTERM


def test_child_server_that_exits_is_reported_and_one_that_ignores_sigterm_is_killed() -> None:
    exited = ChildServer(lambda _port: [sys.executable, "-c", "pass"])
    assert exited.wait_listening(timeout=20, interval=0.05) == "exited"
    stubborn = ChildServer(lambda _port: [sys.executable, "-c", STUBBORN])
    assert stubborn.wait_listening(timeout=0.5, interval=0.05) == "timeout"
    stubborn.stop(grace=0.5, kill_grace=5)
    assert stubborn.process.returncode == -signal.SIGKILL
