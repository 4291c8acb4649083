"""Runner servers as child processes of the driver: one way to start one, see it listen and stop it.

Prism and the Flink job server are both started by marsad on a free local port, in their own
session (a Ctrl-C in a terminal reaches the whole foreground group: the driver must get it first,
to cancel or savepoint the job, before the server goes away), and stopped with SIGTERM, then
SIGKILL if they do not exit in time. Prism, whose jobs die with it anyway, is also killed by the
kernel when the driver dies, however it dies (``die_with_parent``).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import IO, Literal

StartState = Literal["listening", "exited", "timeout"]
Output = int | IO[bytes] | None  # what subprocess.Popen takes for stdout and stderr


class RunnerSetupError(RuntimeError):
    """A runner cannot be set up (no binary and nothing to build it with, a server that does not
    start): the command reports it as a usage error, not as a failed job."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now; the child binds it a moment later (a race no one has lost)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies, even by kill -9 (Linux)."""
    with_pdeathsig = 1  # PR_SET_PDEATHSIG
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the driver's own stop still stops it
        ctypes.CDLL(None, use_errno=True).prctl(with_pdeathsig, signal.SIGKILL, 0, 0, 0)


class ChildServer:
    """A server process started on a free port of ``host`` by ``command(port)``, in its own session."""

    def __init__(
        self,
        command: Callable[[int], list[str]],
        host: str = "127.0.0.1",
        stdout: Output = None,
        stderr: Output = None,
        dies_with_parent: bool = False,
    ) -> None:
        """``dies_with_parent``: the kernel kills the server when this process dies (Linux)."""
        self.host = host
        self.port = free_port(host)
        self.process = subprocess.Popen(
            command(self.port),
            stdout=stdout,
            stderr=stderr,
            preexec_fn=die_with_parent if dies_with_parent else None,
            start_new_session=True,
        )

    def wait_listening(self, timeout: float, interval: float) -> StartState:
        """Whether the server listens within ``timeout`` seconds, or exited (or is still starting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return "exited"
            with socket.socket() as attempt:
                if attempt.connect_ex((self.host, self.port)) == 0:
                    return "listening"
            time.sleep(interval)
        return "timeout"

    def stop(self, grace: float, kill_grace: float) -> None:
        """SIGTERM, and SIGKILL when the server has not exited after ``grace`` seconds."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(kill_grace)
