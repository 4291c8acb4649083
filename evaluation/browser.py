"""Debian's Chromium as the report page's tests and load benchmark launch it, and ports to serve on.

Both launch the same browser with the same flags, so load times measured by the benchmark are
those of the page the tests check; the pytest side (a page, skipping without Chromium) is in
``evaluation.pytest_plugin``.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("MARSAD_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The report's live server is given ports in this range on shared machines.
SERVE_PORTS = range(8700, 8800)


def free_port(ports: range = SERVE_PORTS) -> int:
    """The first port of the range nothing listens on (racy, but the range is ours)."""
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def wait_in_page(page: Any, expression: str, timeout: float) -> None:
    """Poll a JavaScript expression from Python until it is truthy, or raise TimeoutError.

    Playwright's own ``wait_for_function`` polls inside the page with ``eval``, which the page's
    Content-Security-Policy (no 'unsafe-eval', rightly) refuses; ``page.evaluate`` is not subject
    to it."""
    deadline = time.monotonic() + timeout
    guarded = f"(() => {{ try {{ return !!({expression}); }} catch (error) {{ return false; }} }})()"
    while not page.evaluate(guarded):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout:g} s in the page: {expression}")
        time.sleep(0.1)
