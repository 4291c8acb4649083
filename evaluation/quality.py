"""Alert, event and protest quality on the held-out sets, marsad beside a naive baseline.

The regression floors of tests/quality/ and the report of ``python -m benchmarks.quality`` read
the same figures, so they are computed here once: per corpus and overall, on the dev or test split
of ``tests/devsets/heldout/`` and the PLOVER protest sentences of ``../shared/devsets``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from evaluation.alerts import marsad_predictor, naive_predict
from evaluation.corpora import HELDOUT_DIR, PLOVER_PROTEST, corpus_of, load_articles, read_jsonl
from evaluation.events import extractor
from evaluation.heldout import split_of
from schemas.records import Article, Event
from transforms.events import EventExtractor
from transforms.text import NormalizedText, fold

ALERT_RULES = ("ceasefire", "truce", "postponement")
CEASEFIRE_OR_TRUCE = "ceasefire/truce"
EVENT_TYPES = ("attack", "protest", "ceasefire", "postponement", "meeting", "agreement", "statement")

# What one would search for without marsad, per event type: a keyword list on folded text.
NAIVE_EVENT_WORDS = {
    "attack": r"قتل|مقتل|انفجار|تفجير|قصف|غاره|هجوم|اشتباك|اغتيال|مفخخ",
    "protest": r"تظاهر|مظاهر|احتجاج|اعتصام|اضراب",
    "ceasefire": r"وقف اطلاق النار|هدنه",
    "postponement": r"تاجيل|ارجاء",
    "meeting": r"اجتماع|محادثات|لقاء|قمه",
    "agreement": r"اتفاق|اتفق",
    "statement": r"اتهم|ندد|ادان|اتهام",
}


@dataclass
class Tally:
    """True and false positives and negatives of one label, with the keys misjudged."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, predicted: bool, gold: bool, key: str) -> None:
        """Count one decision against its gold label."""
        if predicted and gold:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.errors.append(("FP", key))
        elif gold:
            self.fn += 1
            self.errors.append(("FN", key))

    @property
    def precision(self) -> float:
        """Share of positive decisions that were right (1.0 when nothing was predicted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of gold positives found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def figures(self) -> dict[str, float | int]:
        """Rounded figures for reports and assertion messages."""
        return {"p": round(self.precision, 3), "r": round(self.recall, 3), "f1": round(self.f1, 3),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


def _article(record: dict[str, Any]) -> Article:
    return Article(record["id"], record.get("source"), record.get("url"), record.get("published"),
                   record.get("title") or "", record.get("body") or "", record.get("lang") or "ar")  # fmt: skip


def alert_quality(split: str) -> dict[str, dict[str, dict[str, Tally]]]:
    """{system: {corpus|all: {rule: Tally}}} on the held-out alert set (postponement also on the
    postponement set)."""
    labelled = [row for row in read_jsonl(HELDOUT_DIR / "alerts.jsonl") if split in ("all", row["split"])]
    # Articles judged for postponement alone (postponement.jsonl) count for that rule only.
    postponed = [row for row in read_jsonl(HELDOUT_DIR / "postponement.jsonl") if split in ("all", row["split"])]
    records = load_articles({row["id"] for row in labelled} | {row["id"] for row in postponed})
    systems: dict[str, Callable[[Article], set[str]]] = {"marsad": marsad_predictor(), "naive": naive_predict}
    report: dict[str, dict[str, dict[str, Tally]]] = {}
    for name, predict in systems.items():
        tallies: dict[str, dict[str, Tally]] = {}
        for row in labelled:
            predicted = predict(_article(records[row["id"]]))
            gold = set(row["labels"])
            for scope in ("all", corpus_of(row["id"])):
                by_rule = tallies.setdefault(scope, {r: Tally() for r in (*ALERT_RULES, CEASEFIRE_OR_TRUCE)})
                for rule in ALERT_RULES:
                    by_rule[rule].add(rule in predicted, rule in gold, row["id"])
                by_rule[CEASEFIRE_OR_TRUCE].add(
                    bool(predicted & {"ceasefire", "truce"}), bool(gold & {"ceasefire", "truce"}), row["id"]
                )
        for row in postponed:
            predicted = predict(_article(records[row["id"]]))
            for scope in ("all", corpus_of(row["id"])):
                by_rule = tallies.setdefault(scope, {r: Tally() for r in (*ALERT_RULES, CEASEFIRE_OR_TRUCE)})
                by_rule["postponement"].add("postponement" in predicted, bool(row["postponement"]), row["id"])
        report[name] = tallies
    return report


def reported_events(extract: EventExtractor, sentence: str, published: str | None = None) -> list[Event]:
    """The events the extractor codes as reported occurrences in one sentence (PLOVER's: not
    planned, proposed, negated, named as background, historical or hypothetical)."""
    article = Article("sentence", None, None, published, "", sentence, "ar")
    return [e for e in extract.extract(article, NormalizedText(sentence)) if e.is_reported]


def reported_types(extract: EventExtractor, sentence: str, published: str | None = None) -> set[str]:
    """Event types the extractor codes as reported occurrences in one sentence."""
    return {e.type for e in reported_events(extract, sentence, published)}


def naive_types(sentence: str) -> set[str]:
    """The baseline's event types: a keyword of the type occurs in the folded sentence."""
    folded = fold(sentence)
    return {t for t, words in NAIVE_EVENT_WORDS.items() if re.search(words, folded)}


def event_quality(split: str) -> dict[str, dict[str, dict[str, Tally]]]:
    """{system: {corpus|all: {event type: Tally}}} on the held-out event sentences."""
    labelled = [row for row in read_jsonl(HELDOUT_DIR / "events.jsonl") if split in ("all", row["split"])]
    records = load_articles({row["id"] for row in labelled})
    extract, rules = extractor(), extractor(main_event=False)
    systems: dict[str, Callable[[str, str | None], set[str]]] = {
        "marsad": lambda s, p: reported_types(extract, s, p),
        "rules": lambda s, p: reported_types(rules, s, p),
        "naive": lambda s, p: naive_types(s),
    }
    report: dict[str, dict[str, dict[str, Tally]]] = {}
    for name, predict in systems.items():
        tallies: dict[str, dict[str, Tally]] = {}
        for row in labelled:
            record = records[row["id"]]
            sentence = record["body"][row["start"] : row["end"]]
            predicted, gold = predict(sentence, record.get("published")), set(row["labels"])
            for scope in ("all", corpus_of(row["id"])):
                by_type = tallies.setdefault(scope, {t: Tally() for t in EVENT_TYPES})
                for event_type in EVENT_TYPES:
                    by_type[event_type].add(event_type in predicted, event_type in gold, f"{row['id']}:{row['start']}")
        report[name] = tallies
    return report


def plover_protest(split: str) -> dict[str, Tally]:
    """PROTEST on the PLOVER panel sentences: ``yes`` positive, both kinds of ``no`` negative,
    ``ambiguous`` left out (the set's README)."""
    extract, rules = extractor(), extractor(main_event=False)
    tallies = {"marsad": Tally(), "rules": Tally(), "naive": Tally()}
    for line in PLOVER_PROTEST.read_bytes().splitlines():
        row = orjson.loads(line)
        if row["label"] == "ambiguous" or split not in ("all", split_of(row["id"])):
            continue
        gold = row["label"] == "yes"
        tallies["marsad"].add("protest" in reported_types(extract, row["text"]), gold, row["id"])
        tallies["rules"].add("protest" in reported_types(rules, row["text"]), gold, row["id"])
        tallies["naive"].add("protest" in naive_types(row["text"]), gold, row["id"])
    return tallies


PLOVER_EVENTS = HELDOUT_DIR / "plover_events.jsonl"
PLOVER_TYPES = ("ASSAULT", "PROTEST", "COERCE")
NAIVE_PLOVER = {"ASSAULT": "attack", "PROTEST": "protest"}
NAIVE_COERCE = r"اعتقال|اعتقل|احتجاز|حظر التجول|ترحيل"


def plover_events(split: str) -> dict[str, Any]:
    """The codebook-labelled sentence set (``plover_events.jsonl``: id, field, start, end, split,
    events [{type, mode}], mentions [{type, context}]): per PLOVER type P/R/F1 of the reported
    events for marsad, today's rules and the naive list, and ASSAULT modes right on the sentences
    whose gold has an ASSAULT (a sentence counts right when marsad's reported ASSAULT has a gold mode)."""
    if not PLOVER_EVENTS.exists():
        return {}
    labelled = [row for row in read_jsonl(PLOVER_EVENTS) if split in ("all", row["split"])]
    records = load_articles({row["id"] for row in labelled})
    extract, rules = extractor(), extractor(main_event=False)
    tallies = {system: {t: Tally() for t in PLOVER_TYPES} for system in ("marsad", "rules", "naive")}
    modes_right = modes_total = 0
    for row in labelled:
        record = records[row["id"]]
        text = (record.get(row.get("field", "body")) or "")[row["start"] : row["end"]]
        key = f"{row['id']}:{row['start']}"
        gold = {e["type"] for e in row["events"]}
        predicted = {}
        for system, extract_with in (("marsad", extract), ("rules", rules)):
            events = reported_events(extract_with, text, record.get("published"))
            predicted[system] = events
            for plover_type in PLOVER_TYPES:
                found = any(e.plover == plover_type for e in events)
                tallies[system][plover_type].add(found, plover_type in gold, key)
        naive = naive_types(text)
        for plover_type in PLOVER_TYPES:
            found = (
                NAIVE_PLOVER.get(plover_type) in naive
                if plover_type in NAIVE_PLOVER
                else bool(re.search(NAIVE_COERCE, fold(text)))
            )
            tallies["naive"][plover_type].add(found, plover_type in gold, key)
        if "ASSAULT" in gold:
            modes_total += 1
            gold_modes = {e.get("mode") for e in row["events"] if e["type"] == "ASSAULT"}
            ours = {e.mode for e in predicted["marsad"] if e.plover == "ASSAULT"}
            modes_right += bool(ours & gold_modes)
    return {"tallies": tallies, "assault_modes": (modes_right, modes_total)}
