"""The one pipeline graph behind every mode (batch files, Kafka stream, archive replay).

    source (files | Kafka) -> RawRecords ─┐
                                          ├─ ParseArticles ─ Deduplicate ─┬─ articles ──> sink
                          dead letters ───┘                               ├─ DetectAlerts ─> sink
                                                                          ├─ ExtractEvents ─> sink
                                   every stage's failures ─────────────────┴─ dead letters ─> sink

Modes differ only in the source they feed in and the sinks they attach to ``GraphOutputs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import apache_beam as beam

from transforms.articles import default_seeds_dir
from transforms.events import EventType, load_event_types
from transforms.gazetteer import Entry, gazetteer_files, load_gazetteer
from transforms.rules import Rule, load_rules
from transforms.stages import (
    DEAD,
    Deduplicate,
    DetectAlerts,
    ExtractEvents,
    ParseArticles,
    count_dead_letter,
    count_status,
)

DEFAULT_RETENTION_SECONDS = 72 * 3600


@dataclass(frozen=True)
class GraphConfig:
    """Everything the graph needs besides its source and sinks; loaded (and validated) up front so
    that a bad rules or gazetteer file stops the job before it reads a single article."""

    rules: tuple[Rule, ...]
    event_types: tuple[EventType, ...]
    gazetteer: tuple[Entry, ...]
    retention_seconds: int = DEFAULT_RETENTION_SECONDS

    @classmethod
    def load(
        cls,
        rules_path: str | Path | None = None,
        triggers_path: str | Path | None = None,
        gazetteer_dir: str | Path | None = None,
        retention_seconds: int = DEFAULT_RETENTION_SECONDS,
    ) -> GraphConfig:
        seeds = default_seeds_dir()
        return cls(
            rules=tuple(load_rules(rules_path or seeds / "rules" / "default.yaml")),
            event_types=tuple(load_event_types(triggers_path or seeds / "events" / "triggers.yaml")),
            gazetteer=tuple(load_gazetteer(gazetteer_files(gazetteer_dir or seeds / "gazetteers"))),
            retention_seconds=retention_seconds,
        )


@dataclass
class GraphOutputs:
    articles: beam.PCollection
    alerts: beam.PCollection
    events: beam.PCollection
    dead_letters: beam.PCollection
    extra: dict[str, beam.PCollection] = field(default_factory=dict)


def build_graph(
    records: beam.PCollection,
    source_dead_letters: beam.PCollection,
    config: GraphConfig,
) -> GraphOutputs:
    """Apply marsad's stages to a PCollection of RawRecords."""
    parsed = records | "Parse" >> ParseArticles()
    deduplicated = parsed.articles | "Deduplicate" >> Deduplicate(config.retention_seconds)
    articles = deduplicated["articles"] | "CountStatus" >> beam.Map(count_status)
    # Each story is reported once: alerts and events come from the first article of a story.
    firsts = articles | "FirstOfStory" >> beam.Filter(lambda a: a.dedup.status == "unique")
    alerts = firsts | "DetectAlerts" >> DetectAlerts(config.rules)
    events = firsts | "ExtractEvents" >> ExtractEvents(config.event_types, config.gazetteer)
    dead_letters = (
        (
            source_dead_letters,
            parsed[DEAD],
            deduplicated[DEAD],
            alerts[DEAD],
            events[DEAD],
        )
        | "AllDeadLetters" >> beam.Flatten()
        | "CountDeadLetters" >> beam.Map(count_dead_letter)
    )
    return GraphOutputs(articles=articles, alerts=alerts.alerts, events=events.events, dead_letters=dead_letters)
