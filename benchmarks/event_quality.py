"""Precision and recall per event type on 100 real sentences labelled by reading
(tests/devsets/events.jsonl), sentence by sentence: a type counts as found in a sentence when
the extractor makes an event of that type from it (the scoring is ``evaluation.events``).

    .venv/bin/python -m benchmarks.event_quality [-v]
"""

from __future__ import annotations

import sys

from evaluation.corpora import ROOT
from evaluation.events import DEVSET, load_sentences, scores


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
