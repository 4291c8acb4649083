"""Alert rules: loading and validating a rules file, and turning an article into alerts.

Rules are data (YAML), validated on load against ``schemas/rules.schema.json``; they are never
evaluated as code. The format is documented in ``seeds/rules/README.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import yaml

from schemas import SCHEMA_DIR
from schemas.records import Alert, Article, Match
from transforms.matcher import Phrase, PhraseMatcher
from transforms.text import NormalizedText

SNIPPET_CONTEXT = 80


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    lang: str
    strict_hamza: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: str
    fields: tuple[str, ...]
    terms: tuple[Term, ...]


def _rules_schema() -> dict[str, Any]:
    return orjson.loads((SCHEMA_DIR / "rules.schema.json").read_bytes())


def _describe(error: jsonschema.ValidationError, document: Any) -> str:
    path = list(error.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rule = document["rules"][path[1]]
        rule_id = rule.get("id") if isinstance(rule, Mapping) else None
        where = f"rule {rule_id!r}" if rule_id else f"rule #{path[1] + 1}"
        field = ".".join(str(p) for p in path[2:])
        if field:
            where += f", field {field!r}"
    elif path:
        where = "field " + repr(".".join(str(p) for p in path))
    return f"{where}: {error.message}" if where else error.message


def parse_rules(document: Any, source: str = "<rules>") -> list[Rule]:
    """Validate a parsed rules document and build the rules; raise RulesError naming what is wrong."""
    validator = jsonschema.Draft202012Validator(_rules_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise RulesError(f"{source}: " + _describe(errors[0], document))
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in document["rules"]:
        if raw["id"] in seen:
            raise RulesError(f"{source}: rule {raw['id']!r}, field 'id': duplicate rule id")
        seen.add(raw["id"])
        terms = []
        for lang, entries in raw["terms"].items():
            for entry in entries:
                if isinstance(entry, str):
                    terms.append(Term(entry, lang))
                else:
                    terms.append(Term(entry["text"], lang, entry.get("strict_hamza", False)))
        rules.append(
            Rule(
                id=raw["id"],
                title=raw.get("title", raw["id"]),
                severity=raw.get("severity", "medium"),
                fields=tuple(raw.get("fields", ("title", "body"))),
                terms=tuple(terms),
            )
        )
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError(f"{path}: cannot read rules file: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise RulesError(f"{path}: not valid YAML: {error}") from error
    return parse_rules(document, str(path))


def alert_id(rule_id: str, article_id: str) -> str:
    """Deterministic: a re-delivered article yields the same id."""
    return "al-" + hashlib.sha256(f"{rule_id}\x1f{article_id}".encode()).hexdigest()[:20]


def snippet(text: str, start: int, end: int, context: int = SNIPPET_CONTEXT) -> str:
    left = max(0, start - context)
    right = min(len(text), end + context)
    body = re.sub(r"\s+", " ", text[left:right]).strip()
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


class AlertMatcher:
    """All rules compiled into one phrase index; evaluates an article in one pass per field."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self._matcher = PhraseMatcher(
            Phrase(payload=(number, term.text), text=term.text, strict_hamza=term.strict_hamza)
            for number, rule in enumerate(self.rules)
            for term in rule.terms
        )

    def alerts(
        self,
        article: Article,
        fields: Mapping[str, NormalizedText],
        detected_at: str,
        story_id: str | None = None,
    ) -> list[Alert]:
        matches_by_rule: dict[int, list[Match]] = {}
        for field_name, normalized in fields.items():
            for hit in self._matcher.find(normalized):
                number, term = hit.payload  # type: ignore[misc]
                if field_name not in self.rules[number].fields:
                    continue
                start, end = normalized.to_original(hit.start, hit.end)
                matches_by_rule.setdefault(number, []).append(
                    Match(term=term, text=normalized.original[start:end], field=field_name, start=start, end=end)
                )
        alerts = []
        for number in sorted(matches_by_rule):
            rule = self.rules[number]
            # Two terms of one rule can cover the same words (هدنة and its plural هدن): report the
            # words once, under the longest term.
            by_span: dict[tuple[str, int, int], Match] = {}
            for match in matches_by_rule[number]:
                key = (match.field, match.start, match.end)
                if key not in by_span or len(match.term) > len(by_span[key].term):
                    by_span[key] = match
            matches = sorted(by_span.values(), key=lambda m: (m.field != "title", m.start))
            first = matches[0]
            alerts.append(
                Alert(
                    alert_id=alert_id(rule.id, article.id),
                    rule_id=rule.id,
                    article_id=article.id,
                    story_id=story_id,
                    lang=article.lang,
                    severity=rule.severity,
                    matches=tuple(matches),
                    snippet=snippet(article.field_text(first.field), first.start, first.end),
                    published=article.published,
                    detected_at=detected_at,
                    title=rule.title,
                )
            )
        return alerts
