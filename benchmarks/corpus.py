"""Real articles and generated rules for the benchmarks (ANT corpus from ../shared/corpora)."""

from __future__ import annotations

import gzip
import itertools
import random
from collections import Counter
from pathlib import Path
from typing import Any

from schemas.records import Article, RawRecord
from transforms.articles import parse_record
from transforms.rules import Rule, parse_rules
from transforms.text import light, tokenize


def read_lines(path: Path, count: int | None, skip: int = 0) -> list[bytes]:
    """Raw JSON lines, as a file source reads them."""
    with gzip.open(path, "rb") as handle:
        stop = None if count is None else skip + count
        return [line for line in itertools.islice(handle, skip, stop) if line.strip()]


def raw_records(lines: list[bytes], path: Path) -> list[RawRecord]:
    return [
        RawRecord({"file": str(path), "line": number}, line.decode("utf-8").rstrip("\r\n"), "json")
        for number, line in enumerate(lines, start=1)
    ]


def articles_of(lines: list[bytes], path: Path) -> list[Article]:
    articles = []
    for record in raw_records(lines, path):
        parsed = parse_record(record)
        if isinstance(parsed, Article):
            articles.append(parsed)
    return articles


def vocabulary(articles: list[Article]) -> list[str]:
    counts = Counter(
        t.text for a in articles for t in tokenize(light(a.body)) if len(t.text) > 3 and not t.text.isdigit()
    )
    ranked = [word for word, _ in counts.most_common()]
    # Rule terms name specific things: past the 2,000 commonest words (function words, and the
    # everyday vocabulary of news: الحكومة، الرئيس، اليوم ...), into the long tail.
    return ranked[2000:]


def rule_documents(count: int, words: list[str], seed: int = 7) -> list[dict[str, Any]]:
    """Rules as monitoring desks write them: two to four terms, single words or two-word phrases
    of middling frequency (names, places, topics), some with a proximity condition or an
    exclusion."""
    rng = random.Random(seed)
    rules = []
    for number in range(count):
        terms: list[Any] = []
        for _ in range(rng.randint(2, 4)):
            text = rng.choice(words) if rng.random() < 0.7 else f"{rng.choice(words)} {rng.choice(words)}"
            if rng.random() < 0.1:
                terms.append({"text": text, "near": {"within": 5, "terms": [rng.choice(words)]}})
            else:
                terms.append(text)
        rule: dict[str, Any] = {"id": f"r{number}", "terms": {"ar": terms}}
        if rng.random() < 0.1:
            rule["none_of"] = {"ar": [rng.choice(words)]}
        rules.append(rule)
    return rules


def generate_rules(count: int, words: list[str], seed: int = 7) -> list[Rule]:
    return parse_rules({"rules": rule_documents(count, words, seed)}, "generated")


def lucene_rule_lines(documents: list[dict[str, Any]]) -> list[str]:
    """The same rules in the peer harness's format (benchmarks/lucene/LucenePeer.java)."""
    lines = []
    for rule in documents:
        terms = []
        for term in rule["terms"]["ar"]:
            if isinstance(term, dict):
                terms.append(f"{term['text']}~{term['near']['terms'][0]}")
            else:
                terms.append(term)
        none = rule.get("none_of", {}).get("ar", [])
        lines.append(f"{rule['id']}\t{'|'.join(terms)}\t{'|'.join(none)}")
    return lines


def flat(text: str) -> str:
    return " ".join(text.split())


def lucene_article_lines(articles: list[Article]) -> list[str]:
    return [f"{flat(a.title)}\t{flat(a.body)}" for a in articles]
