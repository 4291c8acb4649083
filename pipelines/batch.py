"""Files in, files out: the batch mode of the pipeline graph."""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import apache_beam as beam
import orjson
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.config import GraphConfig
from pipelines.graph import GraphOutputs, build_graph
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

    def to_json(self) -> bytes:
        """``summary.json``: the counts and the verdict."""
        return orjson.dumps({**asdict(self), "reconciled": self.reconciled}, option=orjson.OPT_INDENT_2)


def attach_file_sinks(outputs: GraphOutputs, output_dir: str) -> None:
    """One file set per output kind: ``<kind>-SSSSS-of-NNNNN.jsonl``."""
    for kind, pcollection in zip(
        OUTPUT_KINDS, (outputs.articles, outputs.alerts, outputs.events, outputs.dead_letters), strict=True
    ):
        pcollection | f"Write_{kind}" >> WriteJsonLines(os.path.join(output_dir, kind))


def clear_previous_outputs(output_dir: str) -> None:
    """Remove shards of an earlier run: stale shards would mix two runs' results."""
    for kind in OUTPUT_KINDS:
        for path in glob.glob(os.path.join(glob.escape(output_dir), f"{kind}-*-of-*.jsonl")):
            os.remove(path)


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
    """Read ``inputs``, write the outputs and ``summary.json`` to ``output_dir``, replacing an
    earlier run's shards; DirectRunner unless ``options`` say otherwise."""
    files, skipped = expand_inputs(inputs)
    for path in skipped:
        log.warning("skipping %s: not an article file (.jsonl, .json, .txt, optionally .gz)", path)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    clear_previous_outputs(output_dir)
    pipeline = beam.Pipeline(options=options or PipelineOptions(runner="DirectRunner"))
    read = pipeline | "ReadFiles" >> ReadArticleFiles(files, config.max_article_bytes)
    outputs = build_graph(read.records, read[DEAD], config)
    attach_file_sinks(outputs, output_dir)
    result = pipeline.run()
    result.wait_until_finish()
    summary = summary_from_metrics(result)
    Path(output_dir, "summary.json").write_bytes(summary.to_json())
    return summary
