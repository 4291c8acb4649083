"""Live counts of a stream job, for its progress line. Beam metrics carry the same figures, but a
runner reports them only when the job ends; these are read while it runs."""

from __future__ import annotations

import threading


class LiveFigures:
    """What this process's workers have done so far, for the progress line of a stream job (on
    Prism the SDK worker runs in the driver's process). Beam metrics carry the same figures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._delays: dict[str, float] = {}

    def add(self, name: str, amount: int = 1) -> None:
        """Count ``amount`` more of ``name`` (``articles_written``, ``alerts_written``...)."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def read(self, _partition: str) -> None:
        """Count one record read from a partition."""
        self.add("read")

    def watermark(self, partition: str, delay_seconds: float) -> None:
        """Note how far a partition's watermark lags the wall clock."""
        with self._lock:
            self._delays[partition] = delay_seconds

    def snapshot(self) -> tuple[dict[str, int], dict[str, float]]:
        """A copy of the counts and of the watermark delays per partition."""
        with self._lock:
            return dict(self._counts), dict(self._delays)
