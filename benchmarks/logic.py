"""marsad's pure stages, timed alone and in sequence (the plain loop), without Beam.

Times are CPU seconds of this process (``time.process_time``), so articles/s are per core.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from benchmarks.corpus import articles_of, generate_rules, raw_records, read_lines, vocabulary
from pipelines.config import GraphConfig
from schemas.records import Article
from transforms.articles import event_time_ms, parse_record
from transforms.dedup import canonical_url, content_fingerprint
from transforms.events import EventExtractor
from transforms.gazetteer import Gazetteer
from transforms.rules import AlertMatcher
from transforms.similarity import signature
from transforms.stories import StoryIndex
from transforms.text import NormalizedText, tokenize


def timed(work: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """Best CPU seconds of ``repeats`` runs, and the last run's result."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    return best, result


def _fields(article: Article) -> dict[str, NormalizedText]:
    return {name: NormalizedText(text) for name, text in (("title", article.title), ("body", article.body)) if text}


def _seconds(article: Article) -> float:
    millis = event_time_ms(article)
    return millis / 1000 if millis is not None else 0.0


class PlainLoop:
    """The pipeline's per-article work as one loop, stage after stage, in the graph's order:
    parse -> prepare (fingerprint, URL, signature, rule matching) -> story index -> events."""

    def __init__(self, config: GraphConfig) -> None:
        self.matcher = AlertMatcher(config.rules)
        self.extractor = EventExtractor(config.event_types, Gazetteer(config.gazetteer), config.event_cues)
        self.index = StoryIndex(config.retention_seconds)
        self.counts: Counter[str] = Counter()

    def run(self, records: list) -> Counter[str]:
        counts = self.counts
        for record in records:
            article = parse_record(record)
            if not isinstance(article, Article):
                counts["dead_letters"] += 1
                continue
            fingerprint = content_fingerprint(article)
            url = canonical_url(article.url)
            fields = _fields(article)  # as transforms.stages._PrepareDoFn: one normalisation per field
            sig = signature(article.title, article.body, fields.get("title"), fields.get("body"))
            alerts = self.matcher.alerts(article, fields, "")
            dedup = self.index.decide(article.id, _seconds(article), fingerprint, url, sig, article.source)
            alerts = [self.index.story_alert(alert, dedup.story_id) for alert in alerts]
            counts[dedup.status] += 1
            counts["alert_revisions"] += len(alerts)
            if dedup.status == "unique" and article.body:
                events = self.extractor.extract(article, NormalizedText(article.body), dedup.story_id)
                counts["events"] += len(events)
        counts["stories"] = self.index.stories_created
        return counts


def _compile_rules(count: int, words: list[str]) -> AlertMatcher:
    return AlertMatcher(generate_rules(count, words))


def _count_alerts(matcher: AlertMatcher, articles: list[Article]) -> int:
    return sum(len(matcher.alerts(a, _fields(a), "")) for a in articles)


def plain_loop(path: Path, count: int | None) -> dict[str, Any]:
    lines = read_lines(path, count)
    records = raw_records(lines, path)
    loop = PlainLoop(GraphConfig.load())
    seconds, counts = timed(lambda: loop.run(records))
    return {"articles": len(records), "cpu_s": seconds, "per_s": len(records) / seconds, "counts": dict(counts)}


def stages(path: Path, count: int, rule_articles: int, rule_counts: tuple[int, ...], vocabulary_articles: int) -> dict:
    """Each pure stage alone over the same articles; articles/s per core."""
    results: dict[str, Any] = {}

    def rate(name: str, seconds: float, n: int, **extra: Any) -> None:
        results[name] = {"cpu_s": seconds, "articles": n, "per_s": n / seconds if seconds else float("inf"), **extra}

    started = time.process_time()
    lines = read_lines(path, count)
    for line in lines:
        orjson.loads(line)
    rate("floor: read + orjson.loads", time.process_time() - started, len(lines))
    n = len(lines)

    records = raw_records(lines, path)
    seconds, parsed = timed(lambda: [parse_record(r) for r in records])
    rate("parse", seconds, n)
    articles = [a for a in parsed if isinstance(a, Article)]

    def normalise_tokenise() -> None:
        for article in articles:
            for text in (article.title, article.body):
                normalized = NormalizedText(text)
                tokenize(normalized.text)
                normalized.light_text  # noqa: B018 - matching reads it for every field

    rate("normalise + tokenise", timed(normalise_tokenise)[0], n)

    seconds, prepared = timed(
        lambda: [(a, content_fingerprint(a), canonical_url(a.url), signature(a.title, a.body)) for a in articles]
    )
    rate("signatures (+ fingerprint, URL)", seconds, n)

    config = GraphConfig.load()
    matcher = AlertMatcher(config.rules)
    seconds, alerts = timed(lambda: sum(len(matcher.alerts(a, _fields(a), "")) for a in articles))
    rate("rules: default", seconds, n, alerts_per_article=alerts / n)

    # Generated rules: their vocabulary comes from other articles than the measured ones.
    if rule_counts:
        words = vocabulary(articles_of(read_lines(path, vocabulary_articles, skip=count), path))
        measured = articles[:rule_articles]
        for rules in rule_counts:
            compile_seconds, generated = timed(partial(_compile_rules, rules, words))
            # As the peer is measured: one warm-up pass, then the best of three.
            seconds, alerts = timed(partial(_count_alerts, generated, measured), repeats=4)
            rate(
                f"rules: {rules:,} generated",
                seconds,
                len(measured),
                alerts_per_article=alerts / len(measured),
                compile_s=compile_seconds,
            )

    # The story index sees articles in publication order, as a live feed delivers them.
    ordered = sorted(prepared, key=lambda p: (_seconds(p[0]), p[0].id))

    def decide_all() -> tuple[StoryIndex, Counter[str]]:
        index = StoryIndex(config.retention_seconds)
        statuses: Counter[str] = Counter()
        for number, (article, fingerprint, url, sig) in enumerate(ordered):
            now = _seconds(article)
            statuses[index.decide(article.id, now, fingerprint, url, sig, article.source).status] += 1
            if number % 500 == 0:
                index.expire(now)  # what the stream's sweep timer does
        return index, statuses

    seconds, (index, statuses) = timed(decide_all)
    state = index.state_bytes() / max(len(index), 1)
    rate("story index (keyed step)", seconds, n, state_bytes_per_article=state, statuses=dict(statuses))

    extractor = EventExtractor(config.event_types, Gazetteer(config.gazetteer), config.event_cues)
    seconds, events = timed(lambda: sum(len(extractor.extract(a, NormalizedText(a.body))) for a in articles if a.body))
    rate("events (every article)", seconds, n, events_per_article=events / n)

    loop = PlainLoop(config)
    seconds, counts = timed(lambda: loop.run(records))
    rate("plain loop (all stages)", seconds, n, counts=dict(counts))
    return results
