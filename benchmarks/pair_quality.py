"""The reprint and story table on labelled article pairs (the figures are ``evaluation.pairs``).

.venv/bin/python -m benchmarks.pair_quality [test|dev|all]
"""

from __future__ import annotations

import sys

from evaluation.corpora import CORPORA
from evaluation.pairs import PairScores, pair_quality


def print_pairs(report: dict[str, dict[str, PairScores]], split: str, errors: bool = False) -> dict:
    print(f"\n## Reprints and stories, labelled pairs ({split} split)\n")
    print("| corpus | system | reprints | reprint R / P | same-story pairs | story R / P | template pairs merged |")
    print("|---|---|---|---|---|---|---|")
    names = {"ant": "ant 2018", "snn": "saudinewsnet 2015", "aj": "aljazeera 2023-25", "all": "all corpora"}
    figures: dict[str, dict] = {}
    for scope in ("all", *CORPORA):
        for system in ("marsad in stream", "marsad pairwise", "naive"):
            scores = report.get(system, {}).get(scope)
            if scores is None:
                continue
            f = scores.figures()
            figures.setdefault(system, {})[scope] = f
            print(
                f"| {names[scope]} | {system} | {f['reprints']} | {f['reprint_recall']:.2f} / "
                f"{f['reprint_precision']:.2f} | {f['same_story_pairs']} | {f['story_recall']:.2f} / "
                f"{f['story_precision']:.2f} | {f['template_merged']:.2f} of {f['template_pairs']} |"
            )
    return figures


if __name__ == "__main__":
    split = sys.argv[1] if len(sys.argv) > 1 else "test"
    print_pairs(pair_quality(split), split)
