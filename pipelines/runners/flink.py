"""Flink, for more than one machine: Beam's portable Flink runner, its job server and Flink's REST API.

A Java job server (docker/flink/job-server.sh builds it from Maven Central into .cache/flink)
translates the pipeline for Flink 1.19 and runs it either on an embedded Flink ("[local]") or on a
session cluster (HOST:PORT, its REST address); the Python SDK worker runs inside this process
(LOOPBACK) unless the caller passes another environment. A stream job is stopped with Flink's
stop-with-savepoint, through the REST API, so that a restart resumes from its state.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apache_beam.runners.runner import PipelineResult, PipelineState

from pipelines.runners.process import ChildServer, RunnerSetupError
from pipelines.settings import DEFAULT_CHECKPOINT_MILLIS, DEFAULT_FLINK_MASTER, JOB_SERVER_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
FLINK_VERSION = "1.19"
FLINK_JOB_SERVER_JAR = "beam-runners-flink-1.19-job-server-2.70.0.jar"


def flink_home() -> Path:
    """Where the job server jar and its last log live: MARSAD_FLINK_HOME, else .cache/flink."""
    override = os.environ.get("MARSAD_FLINK_HOME")
    return Path(override) if override else ROOT / ".cache" / "flink"


def flink_job_server_jar() -> Path:
    """MARSAD_FLINK_JOB_SERVER_JAR if set (a jar built elsewhere), else the one in flink_home()."""
    override = os.environ.get("MARSAD_FLINK_JOB_SERVER_JAR")
    return Path(override) if override else flink_home() / FLINK_JOB_SERVER_JAR


def ensure_flink_job_server() -> Path:
    """The job-server jar, built with Maven (docker/flink/job-server.sh) the first time."""
    jar = flink_job_server_jar()
    if jar.exists():
        return jar
    script = ROOT / "docker" / "flink" / "job-server.sh"
    if shutil.which("mvn") is None or shutil.which("java") is None or not script.exists():
        raise RunnerSetupError(
            f"Flink job server not found at {jar}; build it with docker/flink/job-server.sh build "
            "(needs Maven and Java 17), or set MARSAD_FLINK_JOB_SERVER_JAR"
        )
    log.warning("building the Flink job server with Maven (once; a few minutes)")
    env = {**os.environ, "MARSAD_FLINK_HOME": str(jar.parent)}
    subprocess.run([str(script), "build"], env=env, check=True, stdout=subprocess.DEVNULL)
    return jar


def flink_options(
    master: str = DEFAULT_FLINK_MASTER,
    streaming: bool = False,
    job_name: str | None = None,
    extra: list[str] | None = None,
    job_endpoint: str | None = None,
) -> list[str]:
    """Beam options for Flink; ``extra`` (the user's own Beam options) come last and win.
    ``job_endpoint``: a running job server (FlinkJobServer); without it Beam starts one itself."""
    options = [
        "--runner=FlinkRunner",
        f"--flink_version={FLINK_VERSION}",
        f"--flink_master={master}",
        "--environment_type=LOOPBACK",
        f"--job_server_timeout={JOB_SERVER_TIMEOUT_SECONDS}",
    ]
    if job_endpoint:
        options.append(f"--job_endpoint={job_endpoint}")
    else:
        options.append(f"--flink_job_server_jar={ensure_flink_job_server()}")
    if job_name:
        options.append(f"--job_name={job_name}")
    extra = extra or []
    if streaming:
        options.append("--streaming")
        if not any(arg.startswith("--checkpointing_interval") for arg in extra):
            options.append(f"--checkpointing_interval={DEFAULT_CHECKPOINT_MILLIS}")
        if "--finish_bundle_before_checkpointing" not in extra:
            # Without it the runner finishes a bundle still running at a checkpoint inside the
            # snapshot and keeps its output in operator state, emitted only when the operator next
            # starts a bundle or gets a watermark. The stage fed by the Impulse (the Create of the
            # partition plans) gets neither after its one element and the final watermark: a
            # checkpoint during its first bundle left the plans there for good, the job RUNNING
            # and reading nothing (9 of 10 starts at a 1 s interval; 0 of 20 with the option,
            # benchmarks/flink_starts.py). With it the bundle ends before the barrier goes out.
            options.append("--finish_bundle_before_checkpointing")
        # Beam leaves checkpoints internal: Flink deleted them when the job was cancelled (or
        # failed for good), so a job cancelled by hand or after its driver died could not be
        # resumed. Retained, the last chk-N under state.checkpoints.dir is a --savepoint_path.
        for flag in ("--externalized_checkpoints_enabled", "--retain_externalized_checkpoints_on_cancellation"):
            if not any(arg.startswith(flag) for arg in extra):
                options.append(flag)
    return [*options, *extra]


class FlinkJobServer:
    """The Flink job server as a child of this process, in its own session: Ctrl-C in a terminal
    (SIGINT to the whole foreground group) or SIGTERM to the driver's group would otherwise kill
    it at once, before the job could be stopped with a savepoint. ``with FlinkJobServer(master)
    as endpoint:`` gives the address for --job_endpoint."""

    def __init__(self, master: str, log_path: Path | None = None) -> None:
        """``log_path``: where the server's output goes (default: .cache/flink/job-server-last.log)."""
        self.master = master
        self.log_path = log_path or flink_home() / "job-server-last.log"
        self._server: ChildServer | None = None

    def __enter__(self) -> str:
        jar = ensure_flink_job_server()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as sink:
            self._server = ChildServer(
                lambda port: ["java", "-jar", str(jar), f"--flink-master={self.master}", f"--job-port={port}",
                              "--artifact-port=0", "--expansion-port=0"],
                stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        state = self._server.wait_listening(120, 0.5)
        if state == "exited":
            raise RunnerSetupError(f"the Flink job server exited at start; see {self.log_path}")
        if state == "timeout":
            self.__exit__()
            raise RunnerSetupError(f"the Flink job server did not listen within 120 s; see {self.log_path}")
        return f"localhost:{self._server.port}"

    def __exit__(self, *_exc: object) -> None:
        if self._server is None:
            return
        self._server.stop(20, 10)
        self._server = None


def is_flink_cluster(master: str) -> bool:
    """True for a session cluster's REST address; False for Beam's "[local]" / "[auto]"."""
    return not master.startswith("[")


def _flink_rest(
    master: str, path: str, method: str = "GET", body: dict[str, Any] | None = None, timeout: float = 30
) -> dict[str, Any]:
    base = master if master.startswith(("http://", "https://")) else f"http://{master}"
    request = urllib.request.Request(
        base.rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text else {}


def flink_job_id(master: str, job_name: str, timeout: float = 60) -> str | None:
    """The id of the cluster's non-terminal job named ``job_name`` (Beam's --job_name)."""
    deadline = time.monotonic() + timeout
    while True:
        for job in _flink_rest(master, "/jobs/overview").get("jobs", []):
            if job.get("name") == job_name and job.get("state") not in ("FINISHED", "CANCELED", "FAILED"):
                return job["jid"]
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def stop_flink_job_with_savepoint(master: str, job_id: str, target: str | None = None, timeout: float = 300) -> str:
    """Flink's stop-with-savepoint (sources stop, state is snapshot, the job FINISHES); the
    savepoint's location, which --savepoint_path takes to resume from it."""
    body: dict[str, Any] = {"drain": False}
    if target:
        body["targetDirectory"] = target
    trigger = _flink_rest(master, f"/jobs/{job_id}/stop", "POST", body)["request-id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _flink_rest(master, f"/jobs/{job_id}/savepoints/{trigger}")
        if status.get("status", {}).get("id") == "COMPLETED":
            operation = status.get("operation", {})
            if "location" in operation:
                return operation["location"]
            raise RunnerSetupError(f"Flink could not take the savepoint: {operation.get('failure-cause')}")
        time.sleep(1)
    raise RunnerSetupError(f"Flink took more than {timeout:.0f} s to stop job {job_id} with a savepoint")


def _wait_until_deployed(master: str, job_id: str, timeout: float = 60) -> None:
    """Until every task of the job runs: Flink refuses a savepoint while any is still deploying
    (a stop right after the start, or a backfill with nothing to read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            vertices = _flink_rest(master, f"/jobs/{job_id}").get("vertices", [])
        except (OSError, ValueError):
            return
        if vertices and all(v.get("status") in ("RUNNING", "FINISHED") for v in vertices):
            return
        time.sleep(1)


def cancel_flink_job(master: str, job_id: str) -> None:
    """Cancel without a savepoint: the fallback when a stop with savepoint fails."""
    _flink_rest(master, f"/jobs/{job_id}?mode=cancel", "PATCH")


@dataclass
class FlinkStop:
    """How a Flink streaming job ended: its final state, the savepoint it left, if any, and
    whether it was stopped because ``finished`` said its input was done (a backfill)."""

    result: PipelineResult
    savepoint: str | None = None
    end_of_input: bool = False


def run_on_flink_until_stopped(
    pipeline: Any,
    master: str,
    job_name: str,
    savepoint_dir: str | None = None,
    finished: Callable[[], bool] | None = None,
) -> FlinkStop:
    """Run a streaming job; SIGINT or SIGTERM stops it cleanly. On a session cluster that is
    Flink's stop-with-savepoint, so the job FINISHES with its counts and state kept for a restart
    (--savepoint_path); on embedded Flink, which has no REST endpoint, the job is cancelled.
    Killing the driver instead would leave the job FAILED (its SDK worker lives in the driver).

    ``finished``, asked every second, ends a job whose input is bounded the same way once it
    returns True. Flink does not end it by itself: with checkpointing on, Beam's runner keeps the
    Impulse source that feeds the reader running (``shutdown_sources_after_idle_ms`` defaults to
    forever), and letting it stop early instead makes the reader drain its input inside the
    operator's finish, where no checkpoint completes (past the checkpoint timeout the job
    restarts from its last checkpoint, again and again)."""
    result = pipeline.run()
    stopped = FlinkStop(result)
    # A signal only sets a flag: interrupting wait_until_finish would break its gRPC state
    # stream, and the job must be watched until Flink has taken the savepoint.
    requested: list[str] = []

    def _request_stop(signum: int, _frame: object) -> None:
        if requested:  # a second signal: do not wait for a savepoint
            raise KeyboardInterrupt(signal.Signals(signum).name)
        requested.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not requested and not PipelineState.is_terminal(result.state):
            time.sleep(1)
            if finished is not None and finished():
                stopped.end_of_input = True
                break
        if (requested or stopped.end_of_input) and not PipelineState.is_terminal(result.state):
            if requested:
                log.warning("stopping the Flink job (%s)", requested[0])
            stopped.savepoint = _stop_flink_job(result, master, job_name, savepoint_dir)
        try:
            result.wait_until_finish()
        except RuntimeError:
            if not (requested or stopped.end_of_input) or result.state != PipelineState.CANCELLED:
                raise  # a cancel we asked for is how the job was meant to end; anything else is not
        return stopped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_flink_job(result: PipelineResult, master: str, job_name: str, savepoint_dir: str | None) -> str | None:
    if not is_flink_cluster(master):
        result.cancel()
        return None
    job_id = flink_job_id(master, job_name, timeout=10)
    if job_id is None:
        log.warning("job %s not found on %s; cancelling it through the job server", job_name, master)
        result.cancel()
        return None
    _wait_until_deployed(master, job_id)
    try:
        return stop_flink_job_with_savepoint(master, job_id, savepoint_dir)
    except (RunnerSetupError, OSError) as error:
        log.warning("stop with savepoint failed (%s); cancelling job %s", error, job_id)
        cancel_flink_job(master, job_id)
        return None
