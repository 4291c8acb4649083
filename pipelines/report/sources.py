"""Where the report's records come from: a run's output folder, or the output topics of a stream job."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import orjson

from pipelines.report.model import ReportModel
from pipelines.report.shapes import MalformedRecordError
from schemas.records import OUTPUT_KINDS

log = logging.getLogger(__name__)

# Alerts before articles, so that a run's report keeps only the bodies its snippets need.
READ_ORDER = ("alerts", "articles", "events", "deadletter")
# What the page reads of a summary.json (the counts it reconciles).
SUMMARY_COUNTS = ("read", "unique", "duplicate", "near_duplicate", "dead_letters")


class ReportSourceError(Exception):
    """An input the report cannot read (a missing folder, a bad kafka:// address)."""


class FolderFollower:
    """Reads ``<kind>-*.jsonl`` files of an output folder into a model, and later only what was appended.

    Batch runs write ``<kind>-00000-of-00001.jsonl``; stream jobs with ``--output DIR`` add a file per
    window. Only whole lines are read, so a file being written is picked up where it was left.
    """

    def __init__(self, directory: str | Path, model: ReportModel) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ReportSourceError(f"{self.directory} is not a folder of marsad outputs")
        self.model = model
        self._offsets: dict[Path, int] = {}
        self.bad_lines = 0
        self._summary_mtime: float | None = None
        self._manifest: set[str] | None = None  # the files a batch run wrote, from its summary.json
        self._ignored: set[Path] = set()

    def poll(self) -> int:
        """Reads what is new; returns the number of records added. A batch run's folder is read by
        its manifest (``files`` in summary.json): a stray ``alerts-*.jsonl`` is not its output."""
        self._read_summary()
        added = 0
        for kind in READ_ORDER:
            for path in sorted(self.directory.glob(f"{kind}-*.jsonl")):
                if self._manifest is not None and path.name not in self._manifest:
                    if path not in self._ignored:
                        self._ignored.add(path)
                        log.warning("%s: not in summary.json's list of the run's files, not read", path)
                    continue
                added += self._read_new_lines(kind, path)
        return added

    def _read_summary(self) -> None:
        summary = self.directory / "summary.json"
        if not summary.exists() or summary.stat().st_mtime == self._summary_mtime:
            return
        self._summary_mtime = summary.stat().st_mtime
        try:
            counts = orjson.loads(summary.read_bytes())
        except orjson.JSONDecodeError:
            counts = None
        if isinstance(counts, dict) and all(type(counts.get(k)) is int for k in SUMMARY_COUNTS):
            files = counts.pop("files", None)
            if isinstance(files, list) and all(isinstance(name, str) for name in files):
                self._manifest = set(files)
            self.model.set_summary(counts)
        else:
            self.model.count_problem("summary", "summary.json is not a run's summary: records counted instead")
            log.warning("%s is not a run's summary: counting the records instead", summary)

    def _read_new_lines(self, kind: str, path: Path) -> int:
        offset = self._offsets.get(path, 0)
        with path.open("rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1
        added = 0
        for line in chunk[:end].splitlines():
            if not line.strip():
                continue
            try:
                self.model.add(kind, orjson.loads(line))
                added += 1
            except orjson.JSONDecodeError as error:
                self.model.count_problem(kind, f"{kind} line is not JSON")
                self.bad_lines += 1
                log.warning("%s: skipping a line that is not JSON: %s", path, error)
            except MalformedRecordError as error:  # the model counted it
                self.bad_lines += 1
                log.warning("%s: skipping a line that is not a %s record: %s", path, kind, error)
        self._offsets[path] = offset + end
        return added


def load_output_dir(directory: str | Path) -> tuple[ReportModel, FolderFollower]:
    """A static report's model (only alerted articles' bodies) and the follower that read it."""
    model = ReportModel(bodies_of_alerted_only=True)
    follower = FolderFollower(directory, model)
    follower.poll()
    return model, follower


class KafkaFollower:
    """Consumes ``PREFIX.articles``, ``.alerts``, ``.events`` and ``.deadletter`` from the beginning.

    No consumer group: the page is a viewer and must not move a job's committed offsets.
    """

    def __init__(self, bootstrap: str, prefix: str, model: ReportModel) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        from transforms.io.kafka.admin import ensure_topics

        self.model = model
        self.topics = {f"{prefix}.{kind}": kind for kind in OUTPUT_KINDS}
        try:
            # The page may be opened before the job has written anything: its topics, as the job makes them.
            ensure_topics(bootstrap, self.topics)
            self._consumer = KafkaConsumer(
                *self.topics,
                bootstrap_servers=bootstrap,
                group_id=None,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                request_timeout_ms=15000,
                # The job may create its output topics after the page starts: look for them often.
                metadata_max_age_ms=2000,
            )
        except (KafkaError, OSError) as error:
            raise ReportSourceError(
                f"cannot read {prefix}.* on {bootstrap}: {type(error).__name__}: {error}"
            ) from error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marsad-serve-consumer", daemon=True)
        self.bad_records = 0

    def start(self) -> None:
        """Consume in a daemon thread until ``stop``."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batches = self._consumer.poll(timeout_ms=500)
            except Exception as error:  # a broker hiccup must not kill the page; say so and retry
                log.warning("polling the output topics failed: %s", error)
                self._stop.wait(1.0)
                continue
            for records in batches.values():
                for record in records:
                    kind = self.topics[record.topic]  # subscribed to these topics only
                    try:
                        self.model.add(kind, orjson.loads(record.value))
                    except (orjson.JSONDecodeError, MalformedRecordError) as error:
                        if isinstance(error, orjson.JSONDecodeError):
                            self.model.count_problem(kind, f"{kind} record is not JSON")
                        self.bad_records += 1
                        log.warning("%s offset %s is not a %s record: %s", record.topic, record.offset, kind, error)
        self._consumer.close()

    def stop(self) -> None:
        """Stop consuming (the consumer closes within a poll)."""
        self._stop.set()
        self._thread.join(10)
