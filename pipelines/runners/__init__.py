"""Which Beam runner runs a job of each mode, and the runner processes marsad starts for it.

Batch (files) runs on the DirectRunner. Stream (kafka:// input) runs on Prism, Beam's local
portable runner (``prism.py``), which marsad starts as its own child so that it dies with the
driver. Either mode runs on Flink for more than one machine (``flink.py``): marsad starts the
Flink job server itself, so that a Ctrl-C reaches the driver (to stop with a savepoint) before
the server. Any other ``--runner`` name is handed to Beam as it is. ``process.py`` holds the one
way of starting, watching and stopping those child servers.

``choose_runner`` is the whole choice; the command only turns what it returns into Beam's
``PipelineOptions`` and closes it when the job is over.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from pipelines.runners.process import RunnerSetupError
from pipelines.settings import DEFAULT_FLINK_MASTER, DEFAULT_GROUP

__all__ = ["Mode", "RunnerChoice", "RunnerSetupError", "choose_runner", "is_flink"]

Mode = Literal["batch", "stream"]


def is_flink(runner: str | None) -> bool:
    """``--runner flink`` (or Beam's own name for it), in any case."""
    return runner is not None and runner.lower() in ("flink", "flinkrunner")


def _has_job_endpoint(beam_args: list[str]) -> bool:
    """The user points Beam at a job server of their own: marsad starts none."""
    return any(arg.startswith("--job_endpoint") for arg in beam_args)


@dataclass
class RunnerChoice:
    """A job's Beam options (the user's own last, so they win) and the servers started for it,
    stopped by ``close`` (or at the end of a ``with`` block)."""

    options: list[str]
    flink_master: str | None = None  # set when the job runs on Flink: a stream job stops with a savepoint
    _stops: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        """Stop the servers started for the job, the last started first."""
        while self._stops:
            self._stops.pop()()

    def __enter__(self) -> RunnerChoice:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


def choose_runner(
    mode: Mode,
    runner: str | None,
    beam_args: list[str],
    flink_master: str = DEFAULT_FLINK_MASTER,
    group: str = DEFAULT_GROUP,
    verbose: bool = False,
) -> RunnerChoice:
    """The runner of a ``mode`` job given ``--runner``, ``--flink-master`` and the user's Beam
    options, with its job server started when marsad is the one to start it. Raises
    RunnerSetupError (or RuntimeError, when Prism does not start), having stopped what it started.
    ``group`` names a Flink stream job (``marsad-<group>-<random>``), which the savepoint stop finds."""
    streaming = mode == "stream"
    chosen = RunnerChoice([])
    try:
        if is_flink(runner):
            from pipelines.runners.flink import FlinkJobServer, flink_options

            job_endpoint = None
            if not _has_job_endpoint(beam_args):
                server = FlinkJobServer(flink_master)
                job_endpoint = server.__enter__()
                chosen._stops.append(server.__exit__)
            job_name = f"marsad-{group}-{uuid.uuid4().hex[:8]}" if streaming else None
            chosen.options = flink_options(
                flink_master, streaming=streaming, job_name=job_name, extra=beam_args, job_endpoint=job_endpoint
            )
            chosen.flink_master = flink_master
        elif not streaming:
            chosen.options = [f"--runner={runner or 'DirectRunner'}", *beam_args]
        elif runner:
            chosen.options = [f"--runner={runner}", "--streaming", *beam_args]
        else:
            from pipelines.runners.prism import PrismProcess, ensure_prism, streaming_options

            chosen.options = streaming_options()
            if not _has_job_endpoint(beam_args):
                # Our own Prism, which dies with this process even when it is killed with -9.
                prism = PrismProcess(ensure_prism(), verbose=verbose)
                chosen._stops.append(prism.stop)
                chosen.options.append(f"--job_endpoint={prism.endpoint}")
            chosen.options += beam_args
    except BaseException:
        chosen.close()
        raise
    return chosen
