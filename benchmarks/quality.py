"""The quality report: marsad beside a naive baseline measured in the same run, per corpus and
overall, on the held-out sets of ``tests/devsets/heldout/`` (labelled by reading; see their
guides) and the PLOVER protest sentences of ``../shared/devsets`` (the figures are
``evaluation.quality``; this prints them).

    .venv/bin/python -m benchmarks.quality                 # test split: the figures to report
    .venv/bin/python -m benchmarks.quality --split dev     # the split rules and thresholds are tuned on
    .venv/bin/python -m benchmarks.quality --split dev --errors alerts   # read the dev errors
    .venv/bin/python -m benchmarks.quality --json out.json

Errors are shown for the dev split only: the test split is for reporting, never for reading.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

import orjson

from evaluation.corpora import HELDOUT_DIR, PLOVER_PROTEST
from evaluation.quality import (
    ALERT_RULES,
    CEASEFIRE_OR_TRUCE,
    EVENT_TYPES,
    Tally,
    alert_quality,
    event_quality,
    plover_events,
    plover_protest,
)

RULES_HEADER = (
    "| corpus | what | positives | marsad P / R / F1 | rules alone (--events-model off) | naive P / R / F1 |\n"
    "|---|---|---|---|---|---|"
)
CORPUS_NAMES = {"ant": "ant 2018", "snn": "saudinewsnet 2015", "aj": "aljazeera 2023-25"}


def _prf(tally: Tally) -> str:
    return f"{tally.precision:.2f} / {tally.recall:.2f} / {tally.f1:.2f}"


def _figures(report: dict[str, dict[str, dict[str, Tally]]]) -> dict:
    return {s: {scope: {k: t.figures() for k, t in v.items()} for scope, v in r.items()} for s, r in report.items()}


def _rows(report: dict[str, dict[str, dict[str, Tally]]], labels: Iterable[str]) -> list[str]:
    lines = []
    for scope in ("all", "ant", "snn", "aj"):
        if scope not in report["marsad"]:
            continue
        for label in labels:
            m, n = report["marsad"][scope][label], report["naive"][scope][label]
            support = m.tp + m.fn
            today = f" {_prf(report['rules'][scope][label])} |" if "rules" in report else ""
            where = CORPUS_NAMES.get(scope, "all corpora")
            lines.append(f"| {where} | {label} | {support} | {_prf(m)} |{today} {_prf(n)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("test", "dev", "all"), default="test")
    parser.add_argument("--only", choices=("alerts", "events", "protest", "pairs"), action="append")
    parser.add_argument("--errors", choices=("alerts", "events", "protest", "pairs"), help="list errors (dev only)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.errors and args.split != "dev":
        parser.error("errors are shown for the dev split only (--split dev): the test split is never read")
    wanted = set(args.only or ("alerts", "events", "protest", "pairs"))
    figures: dict[str, object] = {"split": args.split}
    header = "| corpus | what | positives | marsad P / R / F1 | naive P / R / F1 |\n|---|---|---|---|---|"
    if "alerts" in wanted:
        report = alert_quality(args.split)
        print(f"\n## Alert rules ({args.split} split)\n\n{header}")
        print("\n".join(_rows(report, (*ALERT_RULES, CEASEFIRE_OR_TRUCE))))
        figures["alerts"] = _figures(report)
        if args.errors == "alerts":
            for rule, tally in report["marsad"]["all"].items():
                for kind, key in tally.errors:
                    print(f"{kind} {rule} {key}")
    if "events" in wanted:
        report = event_quality(args.split)
        print(f"\n## Events a sentence reports ({args.split} split)\n\n{RULES_HEADER}")
        print("\n".join(_rows(report, EVENT_TYPES)))
        figures["events"] = _figures(report)
        if args.errors == "events":
            for event_type, tally in report["marsad"]["all"].items():
                for kind, key in tally.errors:
                    print(f"{kind} {event_type} {key}")
    if "protest" in wanted and PLOVER_PROTEST.exists():
        tallies = plover_protest(args.split)
        m, r, n = tallies["marsad"], tallies["rules"], tallies["naive"]
        print(f"\n## PLOVER PROTEST, panel-labelled sentences ({args.split} split)\n")
        print("| positives | marsad P / R / F1 | rules alone (--events-model off) | naive P / R / F1 |")
        print("|---|---|---|---|")
        print(f"| {m.tp + m.fn} | {_prf(m)} | {_prf(r)} | {_prf(n)} |")
        figures["protest"] = {k: t.figures() for k, t in tallies.items()}
        if args.errors == "protest":
            for kind, key in m.errors:
                print(f"{kind} {key}")
    if "events" in wanted:
        codebook = plover_events(args.split)
        if codebook:
            print(f"\n## PLOVER codebook sentences, plover_events.jsonl ({args.split} split)\n\n{RULES_HEADER}")
            tallies = codebook["tallies"]
            for plover_type, m in tallies["marsad"].items():
                r, n = tallies["rules"][plover_type], tallies["naive"][plover_type]
                print(f"| all corpora | {plover_type} | {m.tp + m.fn} | {_prf(m)} | {_prf(r)} | {_prf(n)} |")
            right, total = codebook["assault_modes"]
            print(f"\nASSAULT modes right on {right} of {total} true ASSAULT sentences")
            figures["plover_events"] = {s: {k: t.figures() for k, t in v.items()} for s, v in tallies.items()}
            figures["assault_modes"] = {"right": right, "total": total}
    if "pairs" in wanted and (HELDOUT_DIR / "pairs.jsonl").exists():
        from benchmarks.pair_quality import print_pairs
        from evaluation.pairs import pair_quality

        result = pair_quality(args.split)
        figures["pairs"] = print_pairs(result, args.split, errors=args.errors == "pairs")
    if args.json:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
