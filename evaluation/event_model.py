"""A trained alternative to the main-event rules, measured against them: a class-balanced logistic
regression over hashed character 3-5-grams of the folded sentence plus the rules' own decision,
trained on DEV items only and cross-validated within dev (test is never read here).

    .venv/bin/python -m evaluation.event_model --types protest --l2 1e-5 --threshold 0.5

It did not beat the rules (README of seeds/events), so the pipeline does not use it and no weights
are shipped; ``--write`` would write them to seeds/events/event_model.json for a later round.

Training data per type: protest from the PLOVER panel's dev sentences and the held-out event dev
sentences; attack from the held-out event dev sentences. Only sentences with a candidate word of the
type (the naive keyword list) are scored, at training and at inference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import zlib
from pathlib import Path

import numpy as np
import orjson
from scipy import sparse  # type: ignore[import-untyped]

from evaluation.corpora import HELDOUT_DIR, PLOVER_PROTEST, ROOT, load_articles, read_jsonl
from evaluation.events import extractor
from evaluation.heldout import split_of
from evaluation.quality import NAIVE_EVENT_WORDS, Tally, reported_types
from transforms.text import fold

DIMENSIONS = 1 << 18
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[^\w\s]")


def features(sentence: str, rules_say: bool) -> dict[int, float]:
    """Hashed character 3-5-grams of the folded sentence, each counted once, and the rules' vote."""
    text = " " + _SPACES.sub(" ", _PUNCTUATION.sub(" ", fold(sentence))).strip() + " "
    found: dict[int, float] = {}
    for size in (3, 4, 5):
        for start in range(len(text) - size + 1):
            gram = text[start : start + size]
            if gram.strip():
                found[zlib.crc32(f"c{size}:{gram}".encode()) % DIMENSIONS] = 1.0
    found[DIMENSIONS] = 1.0 if rules_say else 0.0  # past the hashed space: the rules' decision
    return found


MODEL_PATH = ROOT / "seeds" / "events" / "event_model.json"
VERSION = "2026-12-05.1"
TYPES = ("protest", "attack")


def dev_items(event_type: str) -> list[tuple[str, str | None, bool]]:
    """(sentence, published, gold) of every dev item that says something about ``event_type``."""
    items: list[tuple[str, str | None, bool]] = []
    rows = [row for row in read_jsonl(HELDOUT_DIR / "events.jsonl") if row["split"] == "dev"]
    records = load_articles({row["id"] for row in rows})
    for row in rows:
        record = records[row["id"]]
        items.append((record["body"][row["start"] : row["end"]], record.get("published"), event_type in row["labels"]))
    if event_type == "protest":
        for line in PLOVER_PROTEST.read_bytes().splitlines():
            row = orjson.loads(line)
            if row["label"] != "ambiguous" and split_of(row["id"]) == "dev":
                items.append((row["text"], None, row["label"] == "yes"))
    return items


def _matrix(rows: list[dict[int, float]]) -> sparse.csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        indices.extend(row)
        data.extend(row.values())
        indptr.append(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), DIMENSIONS + 1))


def train(x: sparse.csr_matrix, y: np.ndarray, l2: float, steps: int = 300) -> tuple[float, np.ndarray]:
    """Class-balanced L2 logistic regression by full-batch gradient descent with Adam."""
    positive = max(1, int(y.sum()))
    sample_weight = np.where(y == 1, len(y) / (2 * positive), len(y) / (2 * max(1, len(y) - positive)))
    w, b = np.zeros(x.shape[1]), 0.0
    m, v, mb, vb = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    for step in range(1, steps + 1):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = sample_weight * (p - y) / len(y)
        gw, gb = x.T @ g + l2 * w, float(g.sum())
        m, v = 0.9 * m + 0.1 * gw, 0.999 * v + 0.001 * gw * gw
        mb, vb = 0.9 * mb + 0.1 * gb, 0.999 * vb + 0.001 * gb * gb
        rate = 0.05 * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        w -= rate * m / (np.sqrt(v) + 1e-8)
        b -= rate * mb / (np.sqrt(vb) + 1e-8)
    return b, w


def _fold_of(text: str, folds: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % folds


def evaluate(event_type: str, l2: float, threshold: float, folds: int = 5) -> dict[str, object]:
    """Cross-validated within dev: the model (on candidate sentences) beside the rules alone."""
    extract = extractor()
    candidates = re.compile(NAIVE_EVENT_WORDS[event_type])
    items = dev_items(event_type)
    rules = [event_type in reported_types(extract, s, p) for s, p, _ in items]
    gold = np.array([g for _, _, g in items], dtype=float)
    is_candidate = [bool(candidates.search(fold(s))) for s, _, _ in items]
    x = _matrix([features(s, r) for (s, _, _), r in zip(items, rules, strict=True)])
    fold_ids = np.array([_fold_of(s, folds) for s, _, _ in items])
    model, rules_tally = Tally(), Tally()
    for k in range(folds):
        train_rows = np.array([i for i in range(len(items)) if fold_ids[i] != k and is_candidate[i]])
        b, w = train(x[train_rows], gold[train_rows], l2)
        for i in np.where(fold_ids == k)[0]:
            p = 1 / (1 + np.exp(-(x[i] @ w + b)))[0] if is_candidate[i] else 0.0
            model.add(bool(p >= threshold), bool(gold[i]), str(i))
            rules_tally.add(rules[i], bool(gold[i]), str(i))
    return {"model": model.figures(), "rules": rules_tally.figures(), "items": len(items)}


def fit(event_type: str, l2: float, threshold: float) -> dict[str, object]:
    """Weights trained on every dev candidate sentence of the type, as the model file stores them."""
    extract = extractor()
    candidates = NAIVE_EVENT_WORDS[event_type]
    items = [item for item in dev_items(event_type) if re.search(candidates, fold(item[0]))]
    x = _matrix([features(s, event_type in reported_types(extract, s, p)) for s, p, _ in items])
    b, w = train(x, np.array([g for _, _, g in items], dtype=float), l2)
    kept = {str(i): round(float(w[i]), 5) for i in np.nonzero(np.abs(w) > 1e-4)[0]}
    return {"candidates": candidates, "bias": round(b, 5), "threshold": threshold, "weights": kept,
            "trained_on": f"{len(items)} dev candidate sentences", "l2": l2}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Print the cross-validated figures per type; with --write, also the weights file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH.relative_to(ROOT)}")
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--types", nargs="*", default=list(TYPES))
    args = parser.parse_args(argv)
    for event_type in args.types:
        print(event_type, json.dumps(evaluate(event_type, args.l2, args.threshold)))
    if args.write:
        document = {"version": VERSION, "types": {t: fit(t, args.l2, args.threshold) for t in args.types}}
        Path(MODEL_PATH).write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
