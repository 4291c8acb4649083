"""Which Beam runner runs which mode, and where Prism comes from.

Batch (files) runs on the DirectRunner. Streaming runs on Prism, Beam's local portable runner:
the DirectRunner's engines either ignore --streaming (FnApiRunner) or reject Splittable DoFns
(BundleBasedDirectRunner). Prism is normally downloaded from GitHub at run time, which many
networks (and this project's CI) cannot reach, so marsad builds it once from the Go module proxy
with the Go toolchain, at the version of the Beam SDK in use, and passes it with --prism_location.
For more than one machine, the same graph runs on Flink (``--runner=FlinkRunner``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam
from apache_beam.runners.runner import PipelineResult, PipelineState

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PRISM_MODULE = "github.com/apache/beam/sdks/v2/go/cmd/prism"
TEN_YEARS = 10 * 365 * 24 * 3600


class RunnerSetupError(RuntimeError):
    pass


def prism_path() -> Path:
    """MARSAD_PRISM if set, else ``.cache/prism/prism-<beam version>`` in the checkout."""
    override = os.environ.get("MARSAD_PRISM")
    if override:
        return Path(override)
    return ROOT / ".cache" / "prism" / f"prism-{apache_beam.__version__}"


def ensure_prism() -> Path:
    """The Prism binary for this Beam version, built with ``go install`` the first time."""
    target = prism_path()
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise RunnerSetupError(
            f"Prism runner not found at {target} and no Go toolchain to build it; install Go, or set "
            "MARSAD_PRISM to a prism binary of Beam " + apache_beam.__version__
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    log.warning("building the Prism runner %s with go install (once; a few minutes)", apache_beam.__version__)
    with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"}
        subprocess.run([go, "install", f"{PRISM_MODULE}@v{apache_beam.__version__}"], env=env, check=True)
        os.replace(Path(gobin) / "prism", target)
    return target


def streaming_options(extra: list[str] | None = None) -> list[str]:
    return [
        "--runner=PrismRunner",
        f"--prism_location={ensure_prism()}",
        "--streaming",
        # The SDK worker runs inside this process: no container engine is needed.
        "--environment_type=LOOPBACK",
        # The job's state and message streams are opened with this deadline (default 300 s):
        # past it the driver loses sight of a job that is meant to run for months.
        f"--job_server_timeout={TEN_YEARS}",
        *(extra or []),
    ]


# --- Flink -------------------------------------------------------------------------------------
# Beam's portable Flink runner: a Java job server (docker/flink/job-server.sh builds it from Maven
# Central into .cache/flink) translates the pipeline for Flink 1.19 and runs it either on an
# embedded Flink ("[local]") or on a session cluster (HOST:PORT, its REST address); the Python
# SDK worker runs inside this process (LOOPBACK) unless the caller passes another environment.

FLINK_VERSION = "1.19"
FLINK_JOB_SERVER_JAR = "beam-runners-flink-1.19-job-server-2.70.0.jar"
FLINK_LOCAL = "[local]"
# Streaming jobs checkpoint this often unless --checkpointing_interval says otherwise.
DEFAULT_CHECKPOINT_MILLIS = 30_000


def flink_home() -> Path:
    override = os.environ.get("MARSAD_FLINK_HOME")
    return Path(override) if override else ROOT / ".cache" / "flink"


def flink_job_server_jar() -> Path:
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
    master: str = FLINK_LOCAL,
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
        f"--job_server_timeout={TEN_YEARS}",
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
    return [*options, *extra]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FlinkJobServer:
    """The Flink job server as a child of this process, in its own session: Ctrl-C in a terminal
    (SIGINT to the whole foreground group) or SIGTERM to the driver's group would otherwise kill
    it at once, before the job could be stopped with a savepoint. ``with FlinkJobServer(master)
    as endpoint:`` gives the address for --job_endpoint."""

    def __init__(self, master: str, log_path: Path | None = None) -> None:
        self.master = master
        self.log_path = log_path or flink_home() / "job-server-last.log"
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        jar = ensure_flink_job_server()
        port = _free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as sink:
            self._process = subprocess.Popen(
                ["java", "-jar", str(jar), f"--flink-master={self.master}", f"--job-port={port}",
                 "--artifact-port=0", "--expansion-port=0"],
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RunnerSetupError(f"the Flink job server exited at start; see {self.log_path}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return f"localhost:{port}"
            time.sleep(0.5)
        self.__exit__()
        raise RunnerSetupError(f"the Flink job server did not listen within 120 s; see {self.log_path}")

    def __exit__(self, *_exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process = None


def is_flink_cluster(master: str) -> bool:
    """True for a session cluster's REST address; False for Beam's "[local]" / "[auto]"."""
    return not master.startswith("[")


def _flink_rest(master: str, path: str, method: str = "GET", body: dict | None = None, timeout: float = 30) -> dict:
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
    body: dict = {"drain": False}
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


def cancel_flink_job(master: str, job_id: str) -> None:
    _flink_rest(master, f"/jobs/{job_id}?mode=cancel", "PATCH")


@dataclass
class FlinkStop:
    """How a Flink streaming job ended: its final state and the savepoint it left, if any."""

    result: PipelineResult
    savepoint: str | None = None


def run_on_flink_until_stopped(
    pipeline: Any, master: str, job_name: str, savepoint_dir: str | None = None
) -> FlinkStop:
    """Run a streaming job; SIGINT or SIGTERM stops it cleanly. On a session cluster that is
    Flink's stop-with-savepoint, so the job FINISHES with its counts and state kept for a restart
    (--savepoint_path); on embedded Flink, which has no REST endpoint, the job is cancelled.
    Killing the driver instead would leave the job FAILED (its SDK worker lives in the driver)."""
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
        if requested and not PipelineState.is_terminal(result.state):
            log.warning("stopping the Flink job (%s)", requested[0])
            stopped.savepoint = _stop_flink_job(result, master, job_name, savepoint_dir)
        try:
            result.wait_until_finish()
        except RuntimeError:
            if not requested or result.state != PipelineState.CANCELLED:
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
    try:
        return stop_flink_job_with_savepoint(master, job_id, savepoint_dir)
    except (RunnerSetupError, OSError) as error:
        log.warning("stop with savepoint failed (%s); cancelling job %s", error, job_id)
        cancel_flink_job(master, job_id)
        return None
