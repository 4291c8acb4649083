"""Precision and recall of the default ceasefire, truce and postponement rules on the labelled
development set (tests/devsets/alerts.jsonl: real articles of ../shared/corpora, labelled by
reading), next to a naive baseline measured in the same run: substring search of the obvious
forms in camel-tools-normalised text (the scoring is ``evaluation.alerts``).

    .venv/bin/python -m benchmarks.alert_quality [-v]
"""

from __future__ import annotations

import sys

from evaluation.alerts import DEVSET, RULE_IDS, load_devset, marsad_predictor, naive_predict, scores
from evaluation.corpora import ANT, ROOT


def main() -> None:
    if not ANT.exists():
        raise SystemExit(f"corpus not found at {ANT}")
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
