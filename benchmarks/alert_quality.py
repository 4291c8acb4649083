"""Precision and recall of the default ceasefire, truce and postponement rules on the labelled
development set (tests/devsets/alerts.jsonl: real articles of ../shared/corpora, labelled by
reading), next to a naive baseline measured in the same run: substring search of the obvious
forms in camel-tools-normalised text.

    .venv/bin/python benchmarks/alert_quality.py
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.records import Article  # noqa: E402
from transforms.rules import AlertMatcher, load_rules  # noqa: E402
from transforms.text import NormalizedText, fold  # noqa: E402

DEVSET = ROOT / "tests" / "devsets" / "alerts.jsonl"
CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"
RULE_IDS = ("ceasefire", "truce", "postponement")
# What one would search for without a morphology-aware matcher.
NAIVE_TERMS = {
    "ceasefire": ["وقف إطلاق النار", "ceasefire"],
    "truce": ["هدنة", "truce"],
    "postponement": ["إرجاء", "تأجيل", "أرجأ", "أجل", "يؤجل", "postpone"],
}


def load_devset(corpus: Path = CORPUS) -> list[tuple[Article, set[str]]]:
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
    matcher = AlertMatcher(load_rules(rules_path))

    def predict(article: Article) -> set[str]:
        fields = {n: NormalizedText(t) for n, t in (("title", article.title), ("body", article.body)) if t}
        return {alert.rule_id for alert in matcher.alerts(article, fields, "")}

    return predict


def naive_predict(article: Article) -> set[str]:
    text = fold(article.title + "\n" + article.body)
    return {rule for rule, terms in NAIVE_TERMS.items() if any(fold(term) in text for term in terms)}


def scores(devset: Iterable[tuple[Article, set[str]]], predict: Callable[[Article], set[str]]) -> dict[str, dict]:
    counts = {rule: {"tp": 0, "fp": 0, "fn": 0, "errors": []} for rule in RULE_IDS}
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


def main() -> None:
    if not CORPUS.exists():
        raise SystemExit(f"corpus not found at {CORPUS}")
    devset = load_devset()
    print(f"development set: {len(devset)} articles ({DEVSET.relative_to(ROOT)})")
    results = {"marsad": scores(devset, marsad_predictor()), "naive substring": scores(devset, naive_predict)}
    print(f"{'rule':14}{'matcher':17}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}")
    for rule in RULE_IDS:
        for name, result in results.items():
            c = result[rule]
            print(
                f"{rule:14}{name:17}{c['precision']:7.3f}{c['recall']:7.3f}{c['f1']:7.3f}{c['tp']:5}{c['fp']:5}{c['fn']:5}"
            )
    if "-v" in sys.argv:
        for rule in RULE_IDS:
            for kind, article_id in results["marsad"][rule]["errors"]:
                print(f"  {rule} {kind} {article_id}")


if __name__ == "__main__":
    main()
