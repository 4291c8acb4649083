"""The quality report: marsad beside a naive baseline measured in the same run, per corpus and
overall, on the held-out sets of ``tests/devsets/heldout/`` (labelled by reading; see their
guides) and the PLOVER protest sentences of ``../shared/devsets``.

    .venv/bin/python -m benchmarks.quality                 # test split: the figures to report
    .venv/bin/python -m benchmarks.quality --split dev     # the split rules and thresholds are tuned on
    .venv/bin/python -m benchmarks.quality --split dev --errors alerts   # read the dev errors
    .venv/bin/python -m benchmarks.quality --json out.json

Errors are shown for the dev split only: the test split is for reporting, never for reading.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.alert_quality import marsad_predictor, naive_predict  # noqa: E402
from benchmarks.event_quality import extractor  # noqa: E402
from benchmarks.heldout import HELDOUT_DIR, corpus_of, load_articles, read_jsonl, split_of  # noqa: E402
from schemas.records import Article  # noqa: E402
from transforms.text import NormalizedText, fold  # noqa: E402

ALERT_RULES = ("ceasefire", "truce", "postponement")
CEASEFIRE_OR_TRUCE = "ceasefire/truce"
EVENT_TYPES = ("attack", "protest", "ceasefire", "postponement", "meeting", "agreement", "statement")
PLOVER_PROTEST = ROOT.parent / "shared" / "devsets" / "plover_protest_gsr.jsonl"
CORPUS_NAMES = {"ant": "ant 2018", "snn": "saudinewsnet 2015", "aj": "aljazeera 2023-25"}

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
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, predicted: bool, gold: bool, key: str) -> None:
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
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def figures(self) -> dict[str, float | int]:
        return {"p": round(self.precision, 3), "r": round(self.recall, 3), "f1": round(self.f1, 3),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


def _article(record: dict) -> Article:
    return Article(record["id"], record.get("source"), record.get("url"), record.get("published"),
                   record.get("title") or "", record.get("body") or "", record.get("lang") or "ar")  # fmt: skip


def alert_quality(split: str) -> dict[str, dict[str, dict[str, Tally]]]:
    """{system: {corpus|all: {rule: Tally}}} on the held-out alert set."""
    labelled = [row for row in read_jsonl(HELDOUT_DIR / "alerts.jsonl") if split in ("all", row["split"])]
    records = load_articles({row["id"] for row in labelled})
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
        report[name] = tallies
    return report


def reported_types(extract: object, sentence: str) -> set[str]:
    """Event types the extractor codes as reported occurrences in one sentence."""
    article = Article("sentence", None, None, None, "", sentence, "ar")
    return {e.type for e in extract.extract(article, NormalizedText(sentence)) if e.modality == "reported"}  # type: ignore[attr-defined]


def naive_types(sentence: str) -> set[str]:
    folded = fold(sentence)
    return {t for t, words in NAIVE_EVENT_WORDS.items() if re.search(words, folded)}


def event_quality(split: str) -> dict[str, dict[str, dict[str, Tally]]]:
    labelled = [row for row in read_jsonl(HELDOUT_DIR / "events.jsonl") if split in ("all", row["split"])]
    records = load_articles({row["id"] for row in labelled})
    extract = extractor()
    systems = {"marsad": lambda s: reported_types(extract, s), "naive": naive_types}
    report: dict[str, dict[str, dict[str, Tally]]] = {}
    for name, predict in systems.items():
        tallies: dict[str, dict[str, Tally]] = {}
        for row in labelled:
            sentence = records[row["id"]]["body"][row["start"] : row["end"]]
            predicted, gold = predict(sentence), set(row["labels"])
            for scope in ("all", corpus_of(row["id"])):
                by_type = tallies.setdefault(scope, {t: Tally() for t in EVENT_TYPES})
                for event_type in EVENT_TYPES:
                    by_type[event_type].add(event_type in predicted, event_type in gold, f"{row['id']}:{row['start']}")
        report[name] = tallies
    return report


def plover_protest(split: str) -> dict[str, Tally]:
    """PROTEST on the PLOVER panel sentences: ``yes`` positive, both kinds of ``no`` negative,
    ``ambiguous`` left out (the set's README)."""
    extract = extractor()
    tallies = {"marsad": Tally(), "naive": Tally()}
    for line in PLOVER_PROTEST.read_bytes().splitlines():
        row = orjson.loads(line)
        if row["label"] == "ambiguous" or split not in ("all", split_of(row["id"])):
            continue
        gold = row["label"] == "yes"
        tallies["marsad"].add("protest" in reported_types(extract, row["text"]), gold, row["id"])
        tallies["naive"].add("protest" in naive_types(row["text"]), gold, row["id"])
    return tallies


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
            lines.append(
                f"| {CORPUS_NAMES.get(scope, 'all corpora')} | {label} | {support} | {_prf(m)} | {_prf(n)} |"
            )
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
        print(f"\n## Events a sentence reports ({args.split} split)\n\n{header}")
        print("\n".join(_rows(report, EVENT_TYPES)))
        figures["events"] = _figures(report)
        if args.errors == "events":
            for event_type, tally in report["marsad"]["all"].items():
                for kind, key in tally.errors:
                    print(f"{kind} {event_type} {key}")
    if "protest" in wanted and PLOVER_PROTEST.exists():
        tallies = plover_protest(args.split)
        m, n = tallies["marsad"], tallies["naive"]
        print(f"\n## PLOVER PROTEST, panel-labelled sentences ({args.split} split)\n")
        print("| positives | marsad P / R / F1 | naive P / R / F1 |\n|---|---|---|")
        print(f"| {m.tp + m.fn} | {_prf(m)} | {_prf(n)} |")
        figures["protest"] = {k: t.figures() for k, t in tallies.items()}
        if args.errors == "protest":
            for kind, key in m.errors:
                print(f"{kind} {key}")
    if "pairs" in wanted and (HELDOUT_DIR / "pairs.jsonl").exists():
        from benchmarks.pair_quality import pair_quality, print_pairs

        result = pair_quality(args.split)
        figures["pairs"] = print_pairs(result, args.split, errors=args.errors == "pairs")
    if args.json:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
