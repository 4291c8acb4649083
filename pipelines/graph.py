"""The one pipeline graph behind every mode: batch over files and archives, and the Kafka stream (which
`marsad replay` feeds archives into, stamped with their publication times).

    source (files | Kafka) ─> RawRecords ─ Parse ─ Prepare ─ Stories ─ Events ─> results ─┬─> sinks
                 │                           │        │         │   (article + its story's  │
                 └── read failures ──────────┴────────┴─────────┴─> lost  alerts, events)   ┘

Parse, Prepare (fingerprints, signatures, rule matching) and Events are parallel; Stories (the
story index) is the one keyed stateful step.

Modes differ only in the source they feed in and the sinks they attach to ``GraphOutputs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam

from pipelines.config import GraphConfig
from transforms.beam.common import DEAD, count_lost_article
from transforms.beam.events import ExtractEvents
from transforms.beam.parse import ParseArticles
from transforms.beam.prepare import PrepareArticles
from transforms.beam.stories import AssignStories


@dataclass
class GraphOutputs:
    """``results`` (one ArticleResult per article) and ``lost`` (dead letters of inputs that never
    became articles) together account for every input once; the other four are views of them."""

    results: beam.PCollection
    lost: beam.PCollection
    articles: beam.PCollection
    alerts: beam.PCollection
    events: beam.PCollection
    dead_letters: beam.PCollection


def build_graph(
    records: beam.PCollection,
    source_dead_letters: beam.PCollection,
    config: GraphConfig,
) -> GraphOutputs:
    """Apply marsad's stages to a PCollection of RawRecords."""
    parsed = records | "Parse" >> ParseArticles(config.max_article_bytes)
    prepared = parsed.articles | "Prepare" >> PrepareArticles(config.rules)
    decided = prepared.keyed | "Stories" >> AssignStories(
        config.retention_seconds, check_worker_index=config.state_restorable
    )
    results = decided.decided | "Events" >> ExtractEvents(config.event_types, config.gazetteer, config.event_cues)
    lost = (
        (source_dead_letters, parsed[DEAD], prepared[DEAD], decided[DEAD])
        | "LostArticles" >> beam.Flatten()
        | "CountLost" >> beam.Map(count_lost_article)
    )
    stage_errors = results | "StageErrors" >> beam.FlatMap(lambda r: r.stage_errors)
    return GraphOutputs(
        results=results,
        lost=lost,
        articles=results | "ArticlesOut" >> beam.Map(lambda r: r.article),
        alerts=results | "AlertsOut" >> beam.FlatMap(lambda r: r.alerts),
        events=results | "EventsOut" >> beam.FlatMap(lambda r: r.events),
        dead_letters=(lost, stage_errors) | "AllDeadLetters" >> beam.Flatten(),
    )
