"""``marsad rules test``: which rules fire on a text, and why, with the matches highlighted."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.cli.options import Subparsers, usage_error

if TYPE_CHECKING:  # the matcher loads Arabic tooling: only when a text is tested, not for --help
    from schemas.records import Article, Match
    from transforms.rules import RuleOutcome

BOLD_RED, DIM, RESET = "\033[1;31m", "\033[2m", "\033[0m"


def add_parser(subparsers: Subparsers) -> None:
    """The ``rules`` parser and its ``test`` subcommand."""
    rules = subparsers.add_parser("rules", help="work with alert rules")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    rules_test = rules_commands.add_parser("test", help="show which rules fire on a text, and why")
    rules_test.add_argument("rules_file", metavar="RULES", help="a rules file (e.g. seeds/rules/default.yaml)")
    source = rules_test.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to test")
    source.add_argument("--file", help="a text file to test (its whole content is the body)")
    rules_test.add_argument("--title", default="", help="an optional title")
    rules_test.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    rules_test.set_defaults(handler=handle)


def handle(args: argparse.Namespace, _extra: list[str]) -> int:
    """Exit 0 when a rule fires, 1 when none does, 2 when the rules file is bad."""
    from transforms.rules import RulesError
    from transforms.safe_yaml import YamlError, decode_utf8

    try:
        text = args.text if args.text is not None else decode_utf8(Path(args.file).read_bytes(), args.file)
    except OSError as error:
        return usage_error(f"cannot read {args.file}: {error.strerror}")
    except YamlError as error:
        return usage_error(str(error))
    colour = {"auto": None, "always": True, "never": False}[args.color]
    try:
        report, fired = rules_test(args.rules_file, text, args.title, colour)
    except RulesError as error:
        return usage_error(str(error))
    print(report)
    return 0 if fired else 1


def highlight(text: str, matches: Sequence[Match], colour: bool, context: int = 60) -> list[str]:
    """One line per match: the words around it, the match itself marked."""
    lines = []
    for match in matches:
        left = text[max(0, match.start - context) : match.start].replace("\n", " ")
        right = text[match.end : match.end + context].replace("\n", " ")
        marked = f"{BOLD_RED}{match.text}{RESET}" if colour else f"[[{match.text}]]"
        lines.append(f"    {match.field}[{match.start}:{match.end}] {match.term!r}: …{left}{marked}{right}…")
    return lines


def describe(outcomes: Sequence[RuleOutcome], article: Article, colour: bool) -> str:
    """Every rule with a term in the text, fired or not, so a rule author sees why it did not."""
    if not outcomes:
        return "no rule has a term in this text"
    lines = []
    for outcome in outcomes:
        verdict = "FIRES" if outcome.fired else "does not fire"
        lines.append(f"{outcome.rule.id} ({outcome.rule.title}): {verdict} — {outcome.reason}, score {outcome.score:g}")
        lines.extend(highlight(article.field_text(m.field), [m], colour)[0] for m in outcome.matches)
    return "\n".join(lines)


def rules_test(rules_path: str, text: str, title: str = "", colour: bool | None = None) -> tuple[str, bool]:
    """(report, whether any rule fired)."""
    from schemas.records import Article
    from transforms.rules import AlertMatcher, load_rules
    from transforms.text import NormalizedText, detect_lang

    rules = load_rules(rules_path)
    article = Article("test", None, None, None, title, text, detect_lang(title + " " + text))
    fields = {name: NormalizedText(value) for name, value in (("title", title), ("body", text)) if value}
    outcomes = AlertMatcher(rules).evaluate(article, fields)
    use_colour = sys.stdout.isatty() if colour is None else colour
    return describe(outcomes, article, use_colour), any(o.fired for o in outcomes)
