"""Prism, Beam's local portable runner, for stream jobs: where its binary comes from and its process.

The DirectRunner's engines either ignore --streaming (FnApiRunner) or reject Splittable DoFns
(BundleBasedDirectRunner), so stream jobs run on Prism. Beam normally downloads Prism from GitHub
at run time, which many networks (and this project's CI) cannot reach, so marsad builds it once
from the Go module proxy with the Go toolchain, at the version of the Beam SDK in use, and passes
it with --prism_location.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import apache_beam

from pipelines.runners.process import ChildServer, RunnerSetupError
from pipelines.settings import JOB_SERVER_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PRISM_MODULE = "github.com/apache/beam/sdks/v2/go/cmd/prism"


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
    """Beam options of a stream job on Prism; ``extra`` come last and win."""
    return [
        "--runner=PrismRunner",
        f"--prism_location={ensure_prism()}",
        "--streaming",
        # The SDK worker runs inside this process: no container engine is needed.
        "--environment_type=LOOPBACK",
        f"--job_server_timeout={JOB_SERVER_TIMEOUT_SECONDS}",
        *(extra or []),
    ]


class PrismProcess:
    """Prism as a job server that lives exactly as long as this process: it gets SIGKILL from the
    kernel when the driver dies, however it dies, and it is in its own session so that a Ctrl-C
    reaches the driver (which cancels the job) and not Prism first."""

    def __init__(self, binary: Path, verbose: bool = False) -> None:
        """Start Prism and wait (up to 60 s) until it listens; RuntimeError when it does not."""
        quiet = None if verbose else subprocess.DEVNULL
        self._server = ChildServer(
            lambda port: [str(binary), "--job_port", str(port), "--log_level", "warn", "--log_kind", "text",
                          "--serve_http=false"],
            host="localhost", stdout=quiet, stderr=quiet, dies_with_parent=True,
        )  # fmt: skip
        self.port = self._server.port
        self.endpoint = f"localhost:{self.port}"
        state = self._server.wait_listening(60, 0.1)
        if state == "exited":
            raise RuntimeError(f"Prism exited at start-up with status {self._server.process.returncode}")
        if state == "timeout":
            self.stop()
            raise RuntimeError(f"Prism did not listen on {self.endpoint} within 60 s")

    def stop(self) -> None:
        """Stop Prism (and with it any job it still runs)."""
        self._server.stop(10, 5)
