"""``marsad rules test``: which rules fire on a text, and why, with the matches highlighted."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from schemas.records import Article, Match
from transforms.rules import AlertMatcher, RuleOutcome, load_rules
from transforms.text import NormalizedText, detect_lang

BOLD_RED, DIM, RESET = "\033[1;31m", "\033[2m", "\033[0m"


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
    rules = load_rules(rules_path)
    article = Article("test", None, None, None, title, text, detect_lang(title + " " + text))
    fields = {name: NormalizedText(value) for name, value in (("title", title), ("body", text)) if value}
    outcomes = AlertMatcher(rules).evaluate(article, fields)
    use_colour = sys.stdout.isatty() if colour is None else colour
    return describe(outcomes, article, use_colour), any(o.fired for o in outcomes)
