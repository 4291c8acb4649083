"""Which Beam runner runs which mode, and where Prism comes from.

Batch (files) runs on the DirectRunner. Streaming runs on Prism, Beam's local portable runner:
the DirectRunner's engines either ignore --streaming (FnApiRunner) or reject Splittable DoFns
(BundleBasedDirectRunner). Prism is normally downloaded from GitHub at run time, which many
networks (and this project's CI) cannot reach, so marsad builds it once from the Go module proxy
with the Go toolchain, at the version of the Beam SDK in use, and passes it with --prism_location.
For more than one machine, the same graph runs on Flink (``--runner=FlinkRunner``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import apache_beam

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
) -> list[str]:
    """Beam options for Flink; ``extra`` (the user's own Beam options) come last and win."""
    options = [
        "--runner=FlinkRunner",
        f"--flink_version={FLINK_VERSION}",
        f"--flink_master={master}",
        f"--flink_job_server_jar={ensure_flink_job_server()}",
        "--environment_type=LOOPBACK",
        f"--job_server_timeout={TEN_YEARS}",
    ]
    if job_name:
        options.append(f"--job_name={job_name}")
    if streaming:
        options += ["--streaming", f"--checkpointing_interval={DEFAULT_CHECKPOINT_MILLIS}"]
    return [*options, *(extra or [])]
