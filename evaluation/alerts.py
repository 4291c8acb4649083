"""The default alert rules scored on the labelled development set, beside a naive baseline.

The development set (tests/devsets/alerts.jsonl) holds ids and labels of real articles of
../shared/corpora; the baseline is substring search of the obvious forms in camel-tools-normalised
text, so a score says what the morphology-aware matcher adds.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from evaluation.corpora import ANT, DEVSETS, ROOT
from schemas.records import Article
from transforms.rules import AlertMatcher, load_rules
from transforms.text import NormalizedText, fold

DEVSET = DEVSETS / "alerts.jsonl"
RULE_IDS = ("ceasefire", "truce", "postponement")
# What one would search for without a morphology-aware matcher.
NAIVE_TERMS = {
    "ceasefire": ["وقف إطلاق النار", "ceasefire"],
    "truce": ["هدنة", "truce"],
    "postponement": ["إرجاء", "تأجيل", "أرجأ", "أجل", "يؤجل", "postpone"],
}


def load_devset(corpus: Path = ANT) -> list[tuple[Article, set[str]]]:
    """The labelled articles with their gold rule ids; exits when the corpus lacks some of them."""
    labels = {}
    for line in DEVSET.read_bytes().splitlines():
        entry = orjson.loads(line)
        labels[entry["id"]] = set(entry["labels"])
    found = []
    with gzip.open(corpus, "rb") as handle:
        for line in handle:
            data = orjson.loads(line)
            if data["id"] in labels:
                article = Article(data["id"], data["source"], data["url"], data["published"],
                                  data["title"] or "", data["body"] or "", data.get("lang") or "ar")  # fmt: skip
                found.append((article, labels[data["id"]]))
    if len(found) != len(labels):
        raise SystemExit(f"{len(labels) - len(found)} development-set articles are missing from {corpus}")
    return found


def marsad_predictor(rules_path: Path = ROOT / "seeds" / "rules" / "default.yaml") -> Callable[[Article], set[str]]:
    """The rule ids the pipeline's matcher fires on an article, as a predictor to score."""
    matcher = AlertMatcher(load_rules(rules_path))

    def predict(article: Article) -> set[str]:
        fields = {n: NormalizedText(t) for n, t in (("title", article.title), ("body", article.body)) if t}
        return {alert.rule_id for alert in matcher.alerts(article, fields, "")}

    return predict


def naive_predict(article: Article) -> set[str]:
    """The baseline: a rule fires when one of its obvious forms occurs in the folded text."""
    text = fold(article.title + "\n" + article.body)
    return {rule for rule, terms in NAIVE_TERMS.items() if any(fold(term) in text for term in terms)}


def scores(
    devset: Iterable[tuple[Article, set[str]]], predict: Callable[[Article], set[str]]
) -> dict[str, dict[str, Any]]:
    """Counts, precision, recall, F1 and the misjudged ids, per rule."""
    counts: dict[str, dict[str, Any]] = {rule: {"tp": 0, "fp": 0, "fn": 0, "errors": []} for rule in RULE_IDS}
    for article, gold in devset:
        predicted = predict(article)
        for rule in RULE_IDS:
            if rule in predicted and rule in gold:
                counts[rule]["tp"] += 1
            elif rule in predicted:
                counts[rule]["fp"] += 1
                counts[rule]["errors"].append(("FP", article.id))
            elif rule in gold:
                counts[rule]["fn"] += 1
                counts[rule]["errors"].append(("FN", article.id))
    for c in counts.values():
        c["precision"] = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        c["recall"] = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        p, r = c["precision"], c["recall"]
        c["f1"] = 2 * p * r / (p + r) if p + r else 0.0
    return counts
