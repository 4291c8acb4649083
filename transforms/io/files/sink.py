"""JSON-lines files as a Beam sink: the batch mode's outputs, one file set per output kind."""

from __future__ import annotations

import apache_beam as beam

from schemas.records import Alert, Article, DeadLetter, Event

RecordT = Article | Alert | Event | DeadLetter


def to_json_line(record: RecordT) -> str:
    """One record as one line of its JSON form, the form every sink writes (files and windows)."""
    return record.to_json().decode("utf-8")


class WriteJsonLines(beam.PTransform):
    """Records -> ``<prefix>-SSSSS-of-NNNNN.jsonl`` files."""

    def __init__(self, file_prefix: str) -> None:
        """``file_prefix``: directory and kind, e.g. ``out/articles``."""
        super().__init__()
        self._file_prefix = file_prefix

    def expand(self, records: beam.PCollection[RecordT]) -> beam.pvalue.PDone:
        """Writes the records' JSON lines with Beam's text sink."""
        return (
            records
            | "ToJson" >> beam.Map(to_json_line)
            | "Write" >> beam.io.WriteToText(self._file_prefix, file_name_suffix=".jsonl")
        )
