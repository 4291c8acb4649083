"""Event types scored sentence by sentence on 100 real sentences labelled by reading.

The set (tests/devsets/events.jsonl) keeps offsets into ../shared/corpora bodies; a type counts
as found in a sentence when the extractor makes an event of that type from it.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

from evaluation.corpora import ANT, DEVSETS, ROOT
from schemas.records import Article
from transforms.event_triggers import load_event_cues, load_event_types
from transforms.events import EventExtractor
from transforms.gazetteer import Gazetteer, gazetteer_files, load_gazetteer
from transforms.text import NormalizedText

DEVSET = DEVSETS / "events.jsonl"
TYPES = ("ceasefire", "postponement", "meeting", "agreement", "attack", "aid", "statement")


def load_sentences(corpus: Path = ANT) -> list[tuple[str, set[str]]]:
    """Each labelled sentence's text, cut from its corpus body, with its gold types."""
    entries = [orjson.loads(line) for line in DEVSET.read_bytes().splitlines()]
    bodies = {}
    wanted = {e["id"] for e in entries}
    with gzip.open(corpus, "rb") as handle:
        for line in handle:
            data = orjson.loads(line)
            if data["id"] in wanted:
                bodies[data["id"]] = data["body"] or ""
    return [(bodies[e["id"]][e["start"] : e["end"]], set(e["labels"])) for e in entries]


def extractor(main_event: bool = True) -> EventExtractor:
    """The extractor as the pipeline builds it from the seed triggers and gazetteers
    (``main_event=False``: today's rules alone, as ``--events-model off`` runs it)."""
    seeds = ROOT / "seeds"
    triggers = seeds / "events" / "triggers.yaml"
    gazetteer = Gazetteer(load_gazetteer(gazetteer_files(seeds / "gazetteers")))
    return EventExtractor(load_event_types(triggers), gazetteer, load_event_cues(triggers), main_event)


def predict(extract: EventExtractor, sentence: str) -> set[str]:
    """The event types the extractor makes from one sentence read as a whole article."""
    article = Article("dev", None, None, None, "", sentence, "ar")
    return {event.type for event in extract.extract(article, NormalizedText(sentence))}


def scores(sentences: list[tuple[str, set[str]]]) -> dict[str, dict[str, Any]]:
    """Counts, precision, recall and the misjudged sentences, per event type."""
    extract = extractor()
    counts: dict[str, dict[str, Any]] = {t: {"tp": 0, "fp": 0, "fn": 0, "errors": []} for t in TYPES}
    for sentence, gold in sentences:
        found = predict(extract, sentence)
        for event_type in TYPES:
            if event_type in found and event_type in gold:
                counts[event_type]["tp"] += 1
            elif event_type in found:
                counts[event_type]["fp"] += 1
                counts[event_type]["errors"].append(("FP", sentence[:90]))
            elif event_type in gold:
                counts[event_type]["fn"] += 1
                counts[event_type]["errors"].append(("FN", sentence[:90]))
    for c in counts.values():
        c["precision"] = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        c["recall"] = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return counts
