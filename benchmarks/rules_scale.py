"""Matching cost per article with 10, 1,000 and 10,000 generated rules over real articles.

Rules are generated from the corpus vocabulary the way monitoring desks write them: each has two
to four terms, single words or two-word phrases, drawn from words of middling frequency (names,
places, topics; not function words), some with a proximity condition or an exclusion. The same
articles are matched with each rule set; the 10-rule set is the baseline of the ratio.

    .venv/bin/python benchmarks/rules_scale.py [--articles 1500]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import random
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.records import Article  # noqa: E402
from transforms.rules import AlertMatcher, parse_rules  # noqa: E402
from transforms.text import NormalizedText, light, tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"


def read_articles(count: int, skip: int = 0) -> list[Article]:
    articles = []
    with gzip.open(CORPUS, "rb") as handle:
        for line in itertools.islice(handle, skip, skip + count):
            d = orjson.loads(line)
            articles.append(
                Article(d["id"], d["source"], d["url"], d["published"], d["title"] or "", d["body"] or "", "ar")
            )
    return articles


def vocabulary(articles: list[Article]) -> list[str]:
    counts = Counter(
        t.text for a in articles for t in tokenize(light(a.body)) if len(t.text) > 3 and not t.text.isdigit()
    )
    ranked = [word for word, _ in counts.most_common()]
    # Rule terms name specific things: past the 2,000 commonest words (function words, and the
    # everyday vocabulary of news: الحكومة، الرئيس، اليوم ...), into the long tail.
    return ranked[2000:]


def generate_rules(count: int, words: list[str], seed: int = 7) -> list:
    rng = random.Random(seed)
    rules = []
    for number in range(count):
        terms: list = []
        for _ in range(rng.randint(2, 4)):
            text = rng.choice(words) if rng.random() < 0.7 else f"{rng.choice(words)} {rng.choice(words)}"
            if rng.random() < 0.1:
                terms.append({"text": text, "near": {"within": 5, "terms": [rng.choice(words)]}})
            else:
                terms.append(text)
        rule: dict = {"id": f"r{number}", "terms": {"ar": terms}}
        if rng.random() < 0.1:
            rule["none_of"] = {"ar": [rng.choice(words)]}
        rules.append(rule)
    return parse_rules({"rules": rules}, "generated")


def cost_per_article(matcher: AlertMatcher, articles: list[Article], repeats: int = 3) -> tuple[float, int]:
    best = float("inf")
    alerts = 0
    for _ in range(repeats):
        started = time.perf_counter()
        alerts = 0
        for article in articles:
            fields = {"title": NormalizedText(article.title), "body": NormalizedText(article.body)}
            alerts += len(matcher.alerts(article, fields, ""))
        best = min(best, time.perf_counter() - started)
    return best / len(articles) * 1000, alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1500)
    args = parser.parse_args()
    if not CORPUS.exists():
        raise SystemExit(f"corpus not found at {CORPUS}")
    # Rules come from the vocabulary of the other 30,000 articles, not from the measured ones.
    articles = read_articles(args.articles)
    words = vocabulary(read_articles(40000, skip=args.articles))
    print(f"{len(articles)} real articles, vocabulary of {len(words)} words; best of 3 runs")
    print(f"{'rules':>7}{'compile s':>11}{'ms/article':>12}{'alerts/article':>16}{'x 10 rules':>12}")
    baseline = None
    for count in (10, 1000, 10000):
        started = time.perf_counter()
        matcher = AlertMatcher(generate_rules(count, words))
        compile_seconds = time.perf_counter() - started
        ms, alerts = cost_per_article(matcher, articles)
        baseline = baseline or ms
        per_article = alerts / len(articles)
        print(f"{count:>7}{compile_seconds:>11.2f}{ms:>12.3f}{per_article:>16.2f}{ms / baseline:>12.2f}")


if __name__ == "__main__":
    main()
