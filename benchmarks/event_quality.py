"""Precision and recall per event type on 100 real sentences labelled by reading
(tests/devsets/events.jsonl), sentence by sentence: a type counts as found in a sentence when
the extractor makes an event of that type from it.

    .venv/bin/python benchmarks/event_quality.py [-v]
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.records import Article  # noqa: E402
from transforms.events import EventExtractor, load_event_cues, load_event_types  # noqa: E402
from transforms.gazetteer import Gazetteer, gazetteer_files, load_gazetteer  # noqa: E402
from transforms.text import NormalizedText  # noqa: E402

DEVSET = ROOT / "tests" / "devsets" / "events.jsonl"
CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"
TYPES = ("ceasefire", "postponement", "meeting", "agreement", "attack", "aid", "statement")


def load_sentences(corpus: Path = CORPUS) -> list[tuple[str, set[str]]]:
    entries = [orjson.loads(line) for line in DEVSET.read_bytes().splitlines()]
    bodies = {}
    wanted = {e["id"] for e in entries}
    with gzip.open(corpus, "rb") as handle:
        for line in handle:
            data = orjson.loads(line)
            if data["id"] in wanted:
                bodies[data["id"]] = data["body"] or ""
    return [(bodies[e["id"]][e["start"] : e["end"]], set(e["labels"])) for e in entries]


def extractor() -> EventExtractor:
    seeds = ROOT / "seeds"
    triggers = seeds / "events" / "triggers.yaml"
    gazetteer = Gazetteer(load_gazetteer(gazetteer_files(seeds / "gazetteers")))
    return EventExtractor(load_event_types(triggers), gazetteer, load_event_cues(triggers))


def predict(extract: EventExtractor, sentence: str) -> set[str]:
    article = Article("dev", None, None, None, "", sentence, "ar")
    return {event.type for event in extract.extract(article, NormalizedText(sentence))}


def scores(sentences: list[tuple[str, set[str]]]) -> dict[str, dict]:
    extract = extractor()
    counts = {t: {"tp": 0, "fp": 0, "fn": 0, "errors": []} for t in TYPES}
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


def main() -> None:
    sentences = load_sentences()
    results = scores(sentences)
    print(f"{len(sentences)} sentences ({DEVSET.relative_to(ROOT)})")
    print(f"{'type':14}{'P':>7}{'R':>7}{'TP':>5}{'FP':>5}{'FN':>5}")
    for event_type, c in results.items():
        print(f"{event_type:14}{c['precision']:7.2f}{c['recall']:7.2f}{c['tp']:5}{c['fp']:5}{c['fn']:5}")
    if "-v" in sys.argv:
        for event_type, c in results.items():
            for kind, text in c["errors"]:
                print(f"  {event_type} {kind}: {text}")


if __name__ == "__main__":
    main()
