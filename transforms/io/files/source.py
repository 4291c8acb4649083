"""Article files as a Beam source: the files named up front, read in order, with every read
failure turned into a dead letter instead of a failed bundle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam

from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES
from schemas.records import DeadLetter, RawRecord
from transforms.beam.common import DEAD, counter
from transforms.io.files.reader import read_file


class ReadArticleFiles(beam.PTransform):
    """Article files -> RawRecords (main output) and read-stage dead letters (``DEAD``)."""

    def __init__(self, files: Sequence[str], max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> None:
        """``files``: article files already expanded (``expand_inputs``), so that a bad path is
        reported before the pipeline starts; a record over ``max_article_bytes`` is cut off while
        reading (a ``too_large`` dead letter), never held whole."""
        super().__init__()
        self._files = list(files)
        self._max_bytes = max_article_bytes

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        """Records keep file order (see below); dead letters go to ``DEAD``."""
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            # No reshuffle here: records keep file order into dedup, so on one worker the first
            # copy read is the one kept. The keyed dedup stage spreads the work on a cluster.
            | "ReadRecords" >> beam.FlatMap(read_file, self._max_bytes)
            | "SplitReadFailures" >> beam.ParDo(SplitReadFailures()).with_outputs(DEAD, main="records")
        )


class SplitReadFailures(beam.DoFn):
    """Counts every record read (files or Kafka) and sends read-stage dead letters to ``DEAD``.

    Both sources end with it, so that the ``read`` counter and the dead-letter tag mean the same
    whatever the transport."""

    def process(self, element: RawRecord | DeadLetter) -> Iterable[Any]:
        """A record to the main output, a dead letter to ``DEAD``."""
        counter("read").inc()
        if isinstance(element, DeadLetter):
            yield beam.pvalue.TaggedOutput(DEAD, element)
        else:
            yield element
