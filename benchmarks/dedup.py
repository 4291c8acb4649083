"""Throughput of the dedup stage and its state per remembered article, on the ANT corpus.

Measures, in one run and one process (no Beam, so the figures are the logic's own):
- baseline: exact dedup only (folded-body fingerprint in a dict);
- signatures: MinHash signatures (the parallel "Prepare" step);
- story index: StoryIndex.decide (exact + URL + near-duplicate + story), the single keyed step;
and reports the counts per status, the number of stories, and bytes of state per article kept.

    .venv/bin/python benchmarks/dedup.py [--articles 31523] [--retention-hours 72]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.records import Article  # noqa: E402
from transforms.articles import event_time_ms  # noqa: E402
from transforms.dedup import canonical_url, content_fingerprint  # noqa: E402
from transforms.similarity import signature  # noqa: E402
from transforms.stories import StoryIndex  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=31523)
    parser.add_argument("--retention-hours", type=float, default=72)
    args = parser.parse_args()
    with gzip.open(CORPUS, "rb") as handle:
        rows = [orjson.loads(line) for line in itertools.islice(handle, args.articles)]
    articles = [
        Article(d["id"], d["source"], d["url"], d["published"], d["title"] or "", d["body"] or "", "ar") for d in rows
    ]
    # Arrival order = publication order, as a live feed would deliver them.
    articles.sort(key=lambda a: (event_time_ms(a) or 0, a.id))
    n = len(articles)

    started = time.perf_counter()
    seen: dict[str, str] = {}
    exact = sum(1 for a in articles if seen.setdefault(content_fingerprint(a), a.id) != a.id)
    baseline_seconds = time.perf_counter() - started

    started = time.perf_counter()
    prepared = [(a, content_fingerprint(a), canonical_url(a.url), signature(a.title, a.body)) for a in articles]
    signature_seconds = time.perf_counter() - started

    index = StoryIndex(args.retention_hours * 3600)
    statuses: Counter[str] = Counter()
    peak_entries = peak_bytes = 0
    started = time.perf_counter()
    for number, (article, fingerprint, url, sig) in enumerate(prepared):
        now = (event_time_ms(article) or 0) / 1000
        statuses[index.decide(article.id, now, fingerprint, url, sig, article.source).status] += 1
        if number % 500 == 0:
            index.expire(now)  # what the streaming sweep does, here every 500 articles
            if len(index) > peak_entries:
                peak_entries, peak_bytes = len(index), index.state_bytes()
    index_seconds = time.perf_counter() - started

    print(f"{n} articles, retention {args.retention_hours:g} h, in publication order")
    print(f"{'step':34}{'seconds':>9}{'articles/s':>12}{'x baseline':>12}")
    for name, seconds in (
        ("baseline: exact fingerprint only", baseline_seconds),
        ("signatures (parallel step)", signature_seconds),
        ("story index (keyed step)", index_seconds),
        ("signatures + story index", signature_seconds + index_seconds),
    ):
        print(f"{name:34}{seconds:9.2f}{n / seconds:12.0f}{seconds / baseline_seconds:12.1f}")
    print(f"statuses: {dict(statuses)}; stories: {index.stories_created}; exact duplicates by body alone: {exact}")
    print(f"state: peak {peak_entries} articles remembered, {peak_bytes / max(peak_entries, 1):.0f} bytes per article")


if __name__ == "__main__":
    main()
