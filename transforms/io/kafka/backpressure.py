"""How far the Kafka reader may run ahead of the sink, as a pure function.

With a Kafka sink in the same process, a partition may have at most one read batch in flight
(read, not yet written): that bounds memory, the latency of commits and what a crash makes the
next job read again. Without one (file outputs, or a sink in another worker process), the reader
reads full batches."""

from __future__ import annotations


def room(batch: int, position: int, written: int | None) -> int:
    """How many more records a partition may read now: ``batch`` less those in flight, i.e. read
    up to ``position`` but written only up to ``written`` (None: nothing tracks what is written,
    so the full batch). Zero or less: wait for the sink."""
    return batch if written is None else batch - (position - written)
