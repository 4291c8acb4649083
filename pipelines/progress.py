"""The progress line of a stream job, and the broker's health between two lines.

What an operator watching a job needs: records in and out per second, the consumer group's lag
per partition (``group_lag``, the figure ``marsad topics lag`` shows too) and how far the
watermark lags the wall clock; one line when the broker stops answering and one when it is back.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition

from transforms.io.kafka.admin import PartitionPlan, group_lag
from transforms.io.kafka.runtime import RUNTIME

# Each probe asks with 5 s timeouts; one that takes this long was waiting for a broker that
# stopped answering.
STALLED_PROBE_SECONDS = 15.0


class ProgressReporter:
    """A thread of the driver: every ``every`` seconds one line with articles in/out per second,
    dead letters, alerts, per-partition lag of the group and watermark delay; in between, a
    broker health probe that logs one line when the broker stops answering and one when it is
    back. Counts come from this process's workers (Prism runs them here); Beam metrics carry
    the same counters (``marsad`` namespace) for runners that run workers elsewhere."""

    def __init__(self, bootstrap: str, group: str, plans: list[PartitionPlan], every: float,
                 emit: Callable[[str], None] | None = None, commits: bool = True) -> None:  # fmt: skip
        """``commits``: False when the outputs are files (nothing is committed: no group lag, and
        the counts of what was written are only in the final summary)."""
        self._bootstrap = bootstrap
        self._group = group
        self._commits = commits
        self._plans = plans
        self._every = every
        self._emit = emit or (lambda line: print(line, file=sys.stderr, flush=True))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marsad-progress", daemon=True)
        self._down_since: float | None = None

    def start(self) -> None:
        """Start the thread; it runs until ``stop``."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop (it does within five seconds; a daemon, it never holds up an exit)."""
        self._stop.set()

    def _run(self) -> None:
        consumer: KafkaConsumer | None = None
        partitions = [TopicPartition(p.topic, p.partition) for p in self._plans]
        last_counts: dict[str, int] = {}
        last_time = time.monotonic()
        next_line = last_time + self._every
        while not self._stop.wait(min(self._every, 5.0)):
            probe_started = time.monotonic()
            try:
                if consumer is None:
                    consumer = KafkaConsumer(
                        bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False,
                        request_timeout_ms=5000,
                    )  # fmt: skip
                lag = {p.key: max(0, p.lag) for p in group_lag(consumer, partitions, timeout_ms=5000)}
                RUNTIME.ledgers.retry_commits()
            except Exception as error:
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    self._emit(
                        f"marsad: broker {self._bootstrap} is not answering ({type(error).__name__}); "
                        "the job waits and resumes when it is back"
                    )
                continue
            if self._down_since is None and time.monotonic() - probe_started > STALLED_PROBE_SECONDS:
                # A call that blocked until the broker came back (a commit waits for its coordinator)
                # raised nothing: the silence itself was the outage.
                self._down_since = probe_started
                self._emit(
                    f"marsad: broker {self._bootstrap} is not answering (no answer for "
                    f"{time.monotonic() - probe_started:.0f} s); the job waits and resumes when it is back"
                )
            if self._down_since is not None:
                self._emit(
                    f"marsad: broker {self._bootstrap} answering again after "
                    f"{time.monotonic() - self._down_since:.0f} s"
                )
                self._down_since = None
            now = time.monotonic()
            if now < next_line:
                continue
            counts, delays = RUNTIME.live.snapshot()
            elapsed = max(now - last_time, 1e-6)

            def rate(name: str, now_counts: dict[str, int] = counts, before: dict[str, int] = last_counts,
                     seconds: float = elapsed) -> float:  # fmt: skip
                return (now_counts.get(name, 0) - before.get(name, 0)) / seconds

            delay = max(delays.values()) if delays else None
            if self._commits:
                written = (
                    f" out {rate('articles_written') + rate('dead_letters_written'):.1f}/s"
                    f" | read {counts.get('read', 0)} articles {counts.get('articles_written', 0)}"
                    f" dead letters {counts.get('dead_letters_written', 0)} alerts {counts.get('alerts_written', 0)}"
                    f" | lag {sum(lag.values())} (" + " ".join(f"{k}={v}" for k, v in sorted(lag.items())) + ")"
                )
            else:
                written = f" | read {counts.get('read', 0)} (file outputs: no offsets committed)"
            self._emit(
                f"marsad: progress in {rate('read'):.1f}/s{written}"
                + (f" | watermark delay {_duration(delay)}" if delay is not None else "")
            )
            last_counts, last_time, next_line = counts, now, now + self._every
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close()


def _duration(seconds: float) -> str:
    """A delay in the largest unit it reaches (days, hours, minutes, seconds)."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"
