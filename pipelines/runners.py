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
