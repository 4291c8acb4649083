"""Files in, files out: the batch mode of the pipeline graph."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import apache_beam as beam
import orjson
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.config import GraphConfig
from pipelines.graph import GraphOutputs, build_graph
from pipelines.outputs import (
    STAGING_PREFIX,
    SUMMARY_FILE,
    OutputError,
    check_output_dir,
    split_own_outputs,
    swap_in,
)
from schemas.records import OUTPUT_KINDS
from transforms.beam.common import DEAD, METRICS_NAMESPACE
from transforms.io.files.reader import expand_inputs
from transforms.io.files.sink import WriteJsonLines
from transforms.io.files.source import ReadArticleFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """A run's counts, from Beam's metrics: what ``marsad run`` prints and ``summary.json`` holds,
    with the check that every article read is accounted for once."""

    read: int
    unique: int
    duplicate: int
    near_duplicate: int
    dead_letters: int
    stage_errors: int
    alerts: int
    events: int
    stories: int = 0
    alert_revisions: int = 0
    state_bytes_per_article: float = 0.0

    @property
    def reconciled(self) -> bool:
        """Every article read is unique, a duplicate, a near-duplicate or a dead letter, once."""
        return self.read == self.unique + self.duplicate + self.near_duplicate + self.dead_letters

    def describe(self) -> str:
        """The summary as ``marsad run`` prints it."""
        verdict = "reconciled" if self.reconciled else "DOES NOT RECONCILE"
        lines = [
            f"articles read   {self.read}",
            f"  unique        {self.unique}",
            f"  duplicate     {self.duplicate}",
            f"  near-duplicate {self.near_duplicate}",
            f"  dead letters  {self.dead_letters}",
            f"  ({verdict}: read = unique + duplicates + near-duplicates + dead letters)",
            f"stories         {self.stories} (articles about one event share a story)",
            f"alerts          {self.alerts} (one per rule and story; {self.alert_revisions} revisions as stories grew)",
            f"events          {self.events}",
            f"dedup state     {self.state_bytes_per_article:.0f} bytes per article remembered",
            f"stage errors    {self.stage_errors} (alert/event failures, also in deadletter files)",
        ]
        return "\n".join(lines)

    def to_json(self, files: list[str] | None = None) -> bytes:
        """``summary.json``: the counts, the verdict and (``files``) the run's manifest: the files it
        wrote, which the next run replaces and ``marsad report`` reads (and no others)."""
        manifest = {"files": files} if files is not None else {}
        return orjson.dumps({**asdict(self), "reconciled": self.reconciled, **manifest}, option=orjson.OPT_INDENT_2)


def attach_file_sinks(outputs: GraphOutputs, output_dir: str) -> None:
    """One file set per output kind: ``<kind>-SSSSS-of-NNNNN.jsonl``."""
    for kind, pcollection in zip(
        OUTPUT_KINDS, (outputs.articles, outputs.alerts, outputs.events, outputs.dead_letters), strict=True
    ):
        pcollection | f"Write_{kind}" >> WriteJsonLines(os.path.join(output_dir, kind))


def summary_from_metrics(result: beam.runners.runner.PipelineResult) -> RunSummary:
    """The summary from a finished job's ``marsad`` metrics (committed where the runner has them),
    the same for batch and stream jobs."""
    metrics = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))
    counters = metrics["counters"]
    state = [
        d.committed or d.attempted for d in metrics["distributions"] if d.key.metric.name == "state_bytes_per_article"
    ]
    state_sum = sum(d.sum for d in state if d)
    state_count = sum(d.count for d in state if d)
    totals: dict[str, int] = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return RunSummary(
        read=totals.get("read", 0),
        unique=totals.get("unique", 0),
        duplicate=totals.get("duplicate", 0),
        near_duplicate=totals.get("near_duplicate", 0),
        dead_letters=totals.get("dead_letters", 0),
        stage_errors=totals.get("stage_errors", 0),
        alerts=totals.get("alerts", 0),
        events=totals.get("events", 0),
        stories=totals.get("stories", 0),
        alert_revisions=totals.get("alert_revisions", 0),
        state_bytes_per_article=state_sum / state_count if state_count else 0.0,
    )


def run_files(
    inputs: list[str],
    output_dir: str,
    config: GraphConfig,
    options: PipelineOptions | None = None,
) -> RunSummary:
    """Read ``inputs``, write the outputs and ``summary.json`` to ``output_dir``; DirectRunner unless
    ``options`` say otherwise.

    The run writes into a staging folder beside ``output_dir`` and moves its files in only once it
    has succeeded, replacing the files the previous run listed in its ``summary.json`` (and nothing
    else: a stream job's window files stay). On any failure the previous outputs are untouched and
    the staging folder is removed. OutputError: ``output_dir`` cannot be written."""
    target = check_output_dir(output_dir)
    files, skipped = expand_inputs(inputs)
    files, own = split_own_outputs(files, target)
    for path in skipped:
        log.warning("skipping %s: not an article file (.jsonl, .json, .txt, optionally .gz)", path)
    for path in own:
        log.warning("skipping %s: an output of marsad in the --output folder, not an input", path)
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=target.parent))
    except OSError as error:
        raise OutputError(f"--output {output_dir}: cannot write there: {error.strerror or error}") from error
    try:
        pipeline = beam.Pipeline(options=options or PipelineOptions(runner="DirectRunner"))
        read = pipeline | "ReadFiles" >> ReadArticleFiles(files, config.max_article_bytes)
        outputs = build_graph(read.records, read[DEAD], config)
        attach_file_sinks(outputs, str(staging))
        result = pipeline.run()
        result.wait_until_finish()
        summary = summary_from_metrics(result)
        written = sorted(p.name for p in staging.iterdir() if p.is_file())
        (staging / SUMMARY_FILE).write_bytes(summary.to_json(files=written))
        swap_in(staging, target, [*written, SUMMARY_FILE])
    except Exception as error:
        cause = _os_error(error)
        if cause is None:
            raise
        message = f"--output {output_dir}: writing the outputs failed ({cause}); the previous outputs are kept"
        raise OutputError(message) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _os_error(error: BaseException) -> str | None:
    """A disk that is full or read-only, even when Beam re-raised it as its own error."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError):
            return seen.strerror or str(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    for marker in ("No space left on device", "Read-only file system", "Permission denied", "Disk quota exceeded"):
        if marker in text:
            return marker
    return None
