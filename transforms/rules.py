"""Alert rules: loading and validating a rules file, and turning an article into alerts.

Rules are data (YAML), validated on load against ``schemas/rules.schema.json``; they are never
evaluated as code. The format is documented in ``seeds/rules/README.md``.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsonschema
import orjson

from schemas import SCHEMA_DIR
from schemas.records import Alert, Article, Match
from transforms.matcher import Phrase, PhraseHit, PhraseMatcher
from transforms.safe_yaml import YamlError, load_yaml, short
from transforms.text import NormalizedText

SNIPPET_CONTEXT = 80


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""


@dataclass(frozen=True, slots=True)
class Context:
    """Words that must (``near``) or must not (``not_near``) occur within ``within`` words.

    ``side`` restricts where: ``after`` the term (what a verb acts on: its object, a selectional
    preference), ``before`` it (the noun a participle describes: العودة المؤجلة), or ``either``."""

    within: int
    terms: tuple[str, ...]
    side: str = "either"


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a rule as written in the rules file, with its weight and context conditions."""

    text: str
    lang: str
    strict_hamza: bool = False
    weight: float = 1.0
    pos: str = "noun"
    near: Context | None = None
    not_near: tuple[Context, ...] = ()  # none of these may hold
    fields: tuple[str, ...] | None = None  # None: the rule's fields
    exclude: tuple[str, ...] = ()  # surface forms of a verb term that are not to fire
    proclitics: tuple[str, ...] | None = None  # allowed prefixes (None: any)

    def phrase(self, payload: Any) -> Phrase:
        """The term as a matcher phrase carrying ``payload`` back in its hits."""
        allowed = frozenset(self.proclitics) if self.proclitics is not None else None
        return Phrase(payload, self.text, self.strict_hamza, self.pos, frozenset(self.exclude), allowed)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule: terms weighed against a threshold, required groups and exclusions."""

    id: str
    title: str
    severity: str
    fields: tuple[str, ...]
    terms: tuple[Term, ...]  # any of these, weighted against the threshold
    languages: tuple[str, ...] | None = None
    threshold: float = 1.0
    all_of: tuple[tuple[Term, ...], ...] = ()
    none_of: tuple[Term, ...] = ()


def _rules_schema() -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((SCHEMA_DIR / "rules.schema.json").read_bytes())
    return schema


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
    # jsonschema's message quotes the offending value, which may be a whole document: cut short.
    message = short(error.message, 160)
    return f"{where}: {message}" if where else message


def _context(raw: dict[str, Any] | None) -> Context | None:
    return Context(raw["within"], tuple(raw["terms"]), raw.get("side", "either")) if raw else None


def _contexts(raw: dict[str, Any] | list[dict[str, Any]] | None) -> tuple[Context, ...]:
    """``not_near`` as written: one context or a list of them (each one vetoes on its own)."""
    entries = raw if isinstance(raw, list) else [raw] if raw else []
    return tuple(Context(e["within"], tuple(e["terms"]), e.get("side", "either")) for e in entries)


def _terms(raw: Mapping[str, list[Any]] | None, source: str, rule_id: str, where: str) -> tuple[Term, ...]:
    terms = []
    for lang, entries in (raw or {}).items():
        for number, entry in enumerate(entries):
            if isinstance(entry, str):
                entry = {"text": entry}
            term = Term(
                text=entry["text"],
                lang=lang,
                strict_hamza=entry.get("strict_hamza", False),
                weight=float(entry.get("weight", 1.0)),
                pos=entry.get("pos", "noun"),
                near=_context(entry.get("near")),
                not_near=_contexts(entry.get("not_near")),
                fields=tuple(entry["fields"]) if "fields" in entry else None,
                exclude=tuple(entry.get("exclude", ())),
                proclitics=tuple(entry["proclitics"]) if "proclitics" in entry else None,
            )
            try:  # compile alone, so that a bad term is reported with its rule and field
                PhraseMatcher([term.phrase(None)])
            except ValueError as error:
                raise RulesError(f"{source}: rule {rule_id!r}, field '{where}.{lang}[{number}]': {error}") from error
            terms.append(term)
    return tuple(terms)


def parse_rules(document: Any, source: str = "<rules>") -> list[Rule]:
    """Validate a parsed rules document and build the rules; raise RulesError naming what is wrong."""
    validator = jsonschema.Draft202012Validator(_rules_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise RulesError(f"{source}: " + _describe(errors[0], document))
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in document["rules"]:
        rule_id = raw["id"]
        if rule_id in seen:
            raise RulesError(f"{source}: rule {rule_id!r}, field 'id': duplicate rule id")
        seen.add(rule_id)
        rules.append(
            Rule(
                id=rule_id,
                title=raw.get("title", rule_id),
                severity=raw.get("severity", "medium"),
                fields=tuple(raw.get("fields", ("title", "body"))),
                terms=_terms(raw.get("terms"), source, rule_id, "terms"),
                languages=tuple(raw["languages"]) if "languages" in raw else None,
                threshold=float(raw.get("threshold", 1.0)),
                all_of=tuple(
                    _terms(group, source, rule_id, f"all_of[{n}]") for n, group in enumerate(raw.get("all_of", []))
                ),
                none_of=_terms(raw.get("none_of"), source, rule_id, "none_of"),
            )
        )
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    """The rules of a YAML file, validated against its schema; errors name the file and the rule."""
    try:
        document = load_yaml(path, "rules file")
    except YamlError as error:
        raise RulesError(str(error)) from None
    return parse_rules(document, str(path))


def alert_id(rule_id: str, article_id: str) -> str:
    """Deterministic: a re-delivered article yields the same id."""
    return "al-" + hashlib.sha256(f"{rule_id}\x1f{article_id}".encode()).hexdigest()[:20]


def snippet(text: str, start: int, end: int, context: int = SNIPPET_CONTEXT) -> str:
    """The words around a match on one line, ellipses where the text goes on: what an alert shows."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    body = re.sub(r"\s+", " ", text[left:right]).strip()
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


# Where a term sits in its rule: ("any", 0), ("all", group number) or ("none", 0).
Slot = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """Why a rule did or did not fire on an article: what ``marsad rules test`` shows."""

    rule: Rule
    fired: bool
    matches: tuple[Match, ...]
    score: float
    reason: str


@dataclass
class _TermHits:
    term: Term
    slot: Slot
    hits: list[tuple[str, PhraseHit]]


_SENTENCE_END = re.compile(r"[.!?؟؛;\n]")


def sentence_ends(text: str) -> list[int]:
    """Offsets of sentence-ending punctuation, for keeping proximity inside a sentence."""
    return [m.start() for m in _SENTENCE_END.finditer(text)]


class AlertMatcher:
    """All rules compiled into one phrase index (terms and their context words). Per article one
    pass per field finds every occurrence; only rules with a term among them are evaluated, so
    the cost grows with what the article contains, not with the number of rules."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        phrases: list[Phrase] = []
        for number, rule in enumerate(self.rules):
            slots: list[tuple[Slot, tuple[Term, ...]]] = [(("any", 0), rule.terms), (("none", 0), rule.none_of)]
            slots += [(("all", n), group) for n, group in enumerate(rule.all_of)]
            for slot, terms in slots:
                for index, term in enumerate(terms):
                    key = (number, slot, index)
                    phrases.append(term.phrase(("term", key)))
                    for kind, context in self._contexts_of(term):
                        for word in context.terms:
                            phrases.append(Phrase(("context", key, kind), word))
        self._matcher = PhraseMatcher(phrases)

    @staticmethod
    def _contexts_of(term: Term) -> list[tuple[str, Context]]:
        """A term's contexts with the kind their hits are filed under (near, not_near.N)."""
        named = [("near", term.near)] if term.near else []
        return named + [(f"not_near.{n}", context) for n, context in enumerate(term.not_near)]

    def _term(self, key: tuple[int, Slot, int]) -> Term:
        number, (kind, group), index = key
        rule = self.rules[number]
        terms = {"any": rule.terms, "none": rule.none_of}.get(kind) or rule.all_of[group]
        return terms[index]

    def evaluate(self, article: Article, fields: Mapping[str, NormalizedText]) -> list[RuleOutcome]:
        """Outcomes of every rule with at least one term in the article, in rule order."""
        terms: dict[tuple[int, Slot, int], _TermHits] = {}
        contexts: dict[tuple[tuple[int, Slot, int], str, str], list[PhraseHit]] = {}
        for field_name, normalized in fields.items():
            for hit in self._matcher.find(normalized):
                kind, key, *rest = cast(tuple[Any, ...], hit.payload)  # every phrase here carries a tuple
                if kind == "term":
                    entry = terms.setdefault(key, _TermHits(self._term(key), key[1], []))
                    entry.hits.append((field_name, hit))
                else:
                    contexts.setdefault((key, rest[0], field_name), []).append(hit)
        # Sentence ends only for fields with a term in them: most articles have none.
        hit_fields = {field_name for entry in terms.values() for field_name, _ in entry.hits}
        ends_by_field = {name: sentence_ends(fields[name].text) for name in hit_fields}
        by_rule: dict[int, list[tuple[tuple[int, Slot, int], _TermHits]]] = {}
        for key, entry in terms.items():
            by_rule.setdefault(key[0], []).append((key, entry))
        outcomes = []
        for number in sorted(by_rule):
            rule = self.rules[number]
            valid: dict[tuple[int, Slot, int], list[Match]] = {}
            for key, entry in by_rule[number]:
                scope = entry.term.fields or rule.fields
                kept = [
                    self._match(fields[f], f, entry.term, hit)
                    for f, hit in entry.hits
                    if f in scope and self._context_allows(entry.term, hit, contexts, key, f, ends_by_field[f])
                ]
                if kept:
                    valid[key] = kept
            outcomes.append(self._decide(rule, number, valid, article))
        return outcomes

    @staticmethod
    def _context_allows(
        term: Term,
        hit: PhraseHit,
        contexts: Mapping[tuple[tuple[int, Slot, int], str, str], list[PhraseHit]],
        key: tuple[int, Slot, int],
        field_name: str,
        ends: list[int],
    ) -> bool:
        # Context counts within the same sentence only: "... النظر في القضية. أجلت السلطات السكان"
        sentence = bisect_right(ends, hit.start)

        def gap(other: PhraseHit, side: str) -> int | None:
            # Words between the term and a context word, None when it is on the wrong side.
            if other.first_token > hit.last_token:
                return other.first_token - hit.last_token if side != "before" else None
            if other.last_token < hit.first_token:
                return hit.first_token - other.last_token if side != "after" else None
            return 0 if side == "either" else None

        def near(context: Context, kind: str) -> bool:
            for other in contexts.get((key, kind, field_name), ()):
                if (other.first_token, other.last_token) == (hit.first_token, hit.last_token):
                    continue
                words = gap(other, context.side)
                if words is not None and words <= context.within and bisect_right(ends, other.start) == sentence:
                    return True
            return False

        if term.near and not near(term.near, "near"):
            return False
        return not any(near(context, f"not_near.{n}") for n, context in enumerate(term.not_near))

    @staticmethod
    def _match(normalized: NormalizedText, field_name: str, term: Term, hit: PhraseHit) -> Match:
        start, end = normalized.to_original(hit.start, hit.end)
        return Match(term=term.text, text=normalized.original[start:end], field=field_name, start=start, end=end)

    @staticmethod
    def _decide(
        rule: Rule, number: int, valid: Mapping[tuple[int, Slot, int], list[Match]], article: Article
    ) -> RuleOutcome:
        def slot_keys(kind: str, group: int = 0) -> list[tuple[int, Slot, int]]:
            return [k for k in valid if k[1] == (kind, group)]

        def matches_of(keys: Iterable[tuple[int, Slot, int]]) -> tuple[Match, ...]:
            return tuple(m for k in keys for m in valid[k])

        any_keys = slot_keys("any")
        score = sum(rule.terms[k[2]].weight for k in any_keys)
        positive = any_keys + [k for n in range(len(rule.all_of)) for k in slot_keys("all", n)]
        found = _dedupe_matches(matches_of(positive))
        if rule.languages and article.lang not in rule.languages:
            return RuleOutcome(rule, False, found, score, f"article language {article.lang!r} not in {rule.languages}")
        vetoes = slot_keys("none")
        if vetoes:
            veto = matches_of(vetoes)[0]
            return RuleOutcome(rule, False, found, score, f"excluded by {veto.term!r} ({veto.text!r})")
        for n in range(len(rule.all_of)):
            if not slot_keys("all", n):
                return RuleOutcome(rule, False, found, score, f"all_of group {n + 1} has no match")
        if not found:
            reason = "its terms occur only where their context rules them out (near, not_near, fields)"
            return RuleOutcome(rule, False, found, score, reason)
        if rule.terms and score < rule.threshold:
            return RuleOutcome(rule, False, found, score, f"score {score:g} below threshold {rule.threshold:g}")
        return RuleOutcome(rule, True, found, score, "fired")

    def alerts(
        self,
        article: Article,
        fields: Mapping[str, NormalizedText],
        detected_at: str,
        story_id: str | None = None,
    ) -> list[Alert]:
        """The alerts of every rule that fires on the article; ``story_id`` groups them per story."""
        alerts = []
        for outcome in self.evaluate(article, fields):
            if not outcome.fired:
                continue
            rule, first = outcome.rule, outcome.matches[0]
            alerts.append(
                Alert(
                    alert_id=alert_id(rule.id, article.id),
                    rule_id=rule.id,
                    article_id=article.id,
                    story_id=story_id,
                    lang=article.lang,
                    severity=rule.severity,
                    matches=outcome.matches,
                    snippet=snippet(article.field_text(first.field), first.start, first.end),
                    published=article.published,
                    detected_at=detected_at,
                    title=rule.title,
                )
            )
        return alerts


def _dedupe_matches(matches: Iterable[Match]) -> tuple[Match, ...]:
    """Report each stretch of text once: of matches that cover the same words (هدنة and its plural
    هدن) or lie inside another (إطلاق النار inside وقف إطلاق النار), the longest; title first."""
    ordered = sorted(matches, key=lambda m: (m.field != "title", m.field, m.start, -(m.end - m.start), -len(m.term)))
    kept: list[Match] = []
    for match in ordered:
        last = kept[-1] if kept else None
        if last is not None and last.field == match.field and last.start <= match.start and match.end <= last.end:
            continue
        kept.append(match)
    return tuple(kept)
