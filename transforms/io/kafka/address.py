"""Where a job reads and writes: ``kafka://`` addresses and start positions, parsed before anything
connects so that a typo is a usage error and not a broker timeout. No Beam, no broker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from schemas.records import OUTPUT_KINDS


class KafkaAddressError(ValueError):
    """An address that is not ``kafka://HOST:PORT/NAME``: the CLI reports it as a usage error."""


@dataclass(frozen=True)
class KafkaAddress:
    """``kafka://HOST:PORT[,HOST:PORT...]/NAME``: NAME is the input topic, or the output prefix."""

    bootstrap: str
    name: str

    @classmethod
    def parse(cls, url: str) -> KafkaAddress:
        """The address of ``url``; KafkaAddressError when it is not one."""
        parts = urlsplit(url)
        name = parts.path.strip("/")
        if parts.scheme != "kafka" or not parts.netloc or not name or "/" in name:
            raise KafkaAddressError(f"{url!r}: expected kafka://HOST:PORT/NAME")
        return cls(parts.netloc, name)

    def topic_for(self, kind: str) -> str:
        """The topic of one output kind under this prefix: ``NAME.kind``."""
        return f"{self.name}.{kind}"

    def output_topics(self) -> list[str]:
        """Every output topic under this prefix, one per kind the job writes."""
        return [self.topic_for(kind) for kind in OUTPUT_KINDS]


def parse_start(start: str) -> str | int:
    """``earliest``, ``latest``, or an ISO-8601 date-time as ms since the epoch (naive means UTC):
    where a group without committed offsets starts reading."""
    if start in ("earliest", "latest"):
        return start
    try:
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"start {start!r}: expected earliest, latest or an ISO-8601 date-time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)
