"""marsad's stages: pure language and matching logic, and thin Beam PTransforms around it."""

import logging


class _OptionalGcpNotice(logging.Filter):
    """Beam warns on import that Google Cloud clients are missing; marsad never uses them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_OptionalGcpNotice())
