"""The only process-wide state of the Kafka connector: ``RUNTIME``.

Why it must be process-wide: the reader and the sink are separate DoFns, pickled apart and set up
by the runner in its own order, and Beam gives two steps no channel to share live objects. Yet
they must meet: the sink settles written offsets into a ledger that the reader reads for its
back-pressure, and the driver's progress thread reads the live counts and retries failed commits
(on Prism the SDK worker runs in the driver's process). Everything they share is in this one
object, so that nothing else in the connector is a global. A DoFn must reach it through this
module at run time and never keep it in an attribute, which would be pickled with the DoFn and
end up a copy in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transforms.io.kafka.ledger import LedgerRegistry
from transforms.io.kafka.progress import LiveFigures


@dataclass
class KafkaRuntime:
    """What the Kafka reader, the Kafka sink and the driver share in one process."""

    live: LiveFigures = field(default_factory=LiveFigures)
    ledgers: LedgerRegistry = field(default_factory=LedgerRegistry)


RUNTIME = KafkaRuntime()
