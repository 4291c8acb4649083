"""What the graph is built from besides its source and sinks: rules, event triggers and gazetteers,
read and validated before any job starts. No Beam here, so the CLI can refuse a bad file at once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.settings import DEFAULT_RETENTION_SECONDS, default_seeds_dir
from schemas.deadletters import DEFAULT_MAX_ARTICLE_BYTES
from transforms.event_triggers import EventCues, EventType, TriggerError, load_event_cues, load_event_types
from transforms.gazetteer import Entry, GazetteerError, gazetteer_files, load_gazetteer
from transforms.rules import Rule, RulesError, load_rules

CONFIG_ERRORS = (RulesError, TriggerError, GazetteerError)
"""What loading raises for a bad rules, trigger or gazetteer file; each message names file and field."""


@dataclass(frozen=True)
class GraphConfig:
    """Everything the graph needs besides its source and sinks; loaded (and validated) up front so
    that a bad rules or gazetteer file stops the job before it reads a single article."""

    rules: tuple[Rule, ...]
    event_types: tuple[EventType, ...]
    gazetteer: tuple[Entry, ...]
    retention_seconds: int = DEFAULT_RETENTION_SECONDS
    event_cues: EventCues | None = None
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES  # larger inputs are dead letters (too_large)
    # Whether the runner can restore the story state under a worker that lives on (Flink: a
    # TaskManager failover, a savepoint): then the worker's story index is checked against the
    # state on every element. Prism and the DirectRunner keep state in memory, in a process that
    # dies with the worker, and Prism 2.77 runs one key's bundles in two copies with diverging
    # state: there the worker's index is the one truth (transforms/beam/stories.py).
    state_restorable: bool = True

    @classmethod
    def load(
        cls,
        rules_path: str | Path | None = None,
        triggers_path: str | Path | None = None,
        gazetteer_dir: str | Path | None = None,
        retention_seconds: int = DEFAULT_RETENTION_SECONDS,
        max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    ) -> GraphConfig:
        """The given files, else the seeds' defaults, read and checked now: every mode builds its
        graph from the same files the same way."""
        seeds = default_seeds_dir()
        triggers = triggers_path or seeds / "events" / "triggers.yaml"
        return cls(
            rules=tuple(load_rules(rules_path or seeds / "rules" / "default.yaml")),
            event_types=tuple(load_event_types(triggers)),
            gazetteer=tuple(load_gazetteer(gazetteer_files(gazetteer_dir or seeds / "gazetteers"))),
            retention_seconds=retention_seconds,
            event_cues=load_event_cues(triggers),
            max_article_bytes=max_article_bytes,
        )

    def without_main_event(self) -> GraphConfig:
        """The same graph with the events' main-event step off (``--events-model off``)."""
        cues = self.event_cues or EventCues(8, (), (), ())
        return replace(self, event_cues=replace(cues, main_event=False))
