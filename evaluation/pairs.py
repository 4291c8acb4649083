"""Dedup and story quality on labelled article pairs (``tests/devsets/heldout/pairs.jsonl``).

Two measurements, both beside a naive baseline (exact body fingerprint for reprints, title
content-word overlap >= 0.5 for stories):
- **pairwise**: marsad's predicates on the two articles alone (``is_reprint``,
  ``story_similarity``): what the decision rules can do, fast enough for the regression test;
- **in stream**: every article of the corpora run through the story index in publication order
  (72 h window), as the pipeline does; a pair is a reprint when one of them was marked a
  duplicate or near-duplicate and both ended in one story, same-story when they share a story.

Figures: reprint recall and precision, same-story recall (reprints included: a reprint in the
same story is what a user wants), and the share of template pairs (different stories of one
recurring template) merged into one story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaluation.corpora import HELDOUT_DIR, corpus_of, iter_corpus, read_jsonl
from schemas.records import Article, Dedup
from transforms.articles import published_ms
from transforms.dedup import canonical_url, content_fingerprint
from transforms.similarity import content_words, signature
from transforms.stories import StoryIndex, is_reprint, story_similarity

RETENTION_SECONDS = 72 * 3600


@dataclass
class PairScores:
    """Reprint and same-story counts of one system on one scope."""

    reprint_tp: int = 0
    reprint_fp: int = 0
    reprint_fn: int = 0
    story_tp: int = 0  # same_story or reprint pairs put in one story
    story_fn: int = 0
    story_fp: int = 0  # different pairs put in one story
    template_pairs: int = 0
    template_merged: int = 0

    def add(self, label: str, template: bool, reprint: bool, same_story: bool) -> None:
        """Count one labelled pair against the system's two decisions on it."""
        if label == "reprint":
            self.reprint_tp += reprint
            self.reprint_fn += not reprint
        elif reprint:
            self.reprint_fp += 1
        if label in ("reprint", "same_story"):
            self.story_tp += same_story
            self.story_fn += not same_story
        else:
            self.story_fp += same_story
            if template:
                self.template_pairs += 1
                self.template_merged += same_story

    def figures(self) -> dict[str, float | int]:
        """Recall, precision and the template share, rounded, with the counts behind them."""

        def ratio(a: int, b: int) -> float:
            return round(a / b, 3) if b else 1.0

        return {
            "reprint_recall": ratio(self.reprint_tp, self.reprint_tp + self.reprint_fn),
            "reprint_precision": ratio(self.reprint_tp, self.reprint_tp + self.reprint_fp),
            "story_recall": ratio(self.story_tp, self.story_tp + self.story_fn),
            "story_precision": ratio(self.story_tp, self.story_tp + self.story_fp),
            "template_merged": round(self.template_merged / self.template_pairs, 3) if self.template_pairs else 0.0,
            "reprints": self.reprint_tp + self.reprint_fn,
            "same_story_pairs": self.story_tp + self.story_fn,
            "template_pairs": self.template_pairs,
        }


def _article(record: dict[str, Any]) -> Article:
    return Article(record["id"], record.get("source"), record.get("url"), record.get("published"),
                   record.get("title") or "", record.get("body") or "", "ar")  # fmt: skip


def _title_overlap(a: Article, b: Article) -> float:
    wa, wb = set(content_words(a.title)), set(content_words(b.title))
    return len(wa & wb) / min(len(wa), len(wb)) if wa and wb else 0.0


def labelled_pairs(split: str) -> list[dict[str, Any]]:
    """The labelled pairs of one split (``all``: both)."""
    return [row for row in read_jsonl(HELDOUT_DIR / "pairs.jsonl") if split in ("all", row["split"])]


def run_corpora(names: set[str]) -> dict[str, Dedup]:
    """Every article of these corpora through the story index in publication order: id -> Dedup."""
    decisions: dict[str, Dedup] = {}
    for name in sorted(names):
        records = [r for r in iter_corpus(name) if r.get("published") and (r.get("body") or r.get("title"))]
        records.sort(key=lambda r: (published_ms(r["published"]) or 0, r["id"]))
        index = StoryIndex(RETENTION_SECONDS)
        swept = 0.0
        for record in records:
            article = _article(record)
            moment = (published_ms(article.published) or 0) / 1000
            if moment - swept > RETENTION_SECONDS / 4:  # as the pipeline's event-time sweeps do
                index.expire(moment - RETENTION_SECONDS)
                swept = moment
            decisions[article.id] = index.decide(
                article.id, moment, content_fingerprint(article), canonical_url(article.url),
                signature(article.title, article.body), article.source,
            )  # fmt: skip
            index.drain_log()
    return decisions


def pair_quality(split: str, stream: bool = True) -> dict[str, dict[str, PairScores]]:
    """{system: {corpus|all: PairScores}} for marsad pairwise, marsad in stream, and the baseline."""
    pairs = labelled_pairs(split)
    wanted = {row[k] for row in pairs for k in ("a", "b")}
    records: dict[str, dict[str, Any]] = {}
    for name in sorted({corpus_of(i) for i in wanted}):
        records.update({r["id"]: r for r in iter_corpus(name) if r["id"] in wanted})
    decisions = run_corpora({corpus_of(i) for i in wanted}) if stream else {}
    signatures = {i: signature(records[i].get("title") or "", records[i].get("body") or "") for i in wanted}
    report: dict[str, dict[str, PairScores]] = {}

    def add(system: str, row: dict[str, Any], reprint: bool, same_story: bool) -> None:
        for scope in ("all", corpus_of(row["a"])):
            report.setdefault(system, {}).setdefault(scope, PairScores()).add(
                row["label"], row.get("template", False), reprint, same_story
            )

    for row in pairs:
        a, b = _article(records[row["a"]]), _article(records[row["b"]])
        sa, sb = signatures[a.id], signatures[b.id]
        exact = content_fingerprint(a) == content_fingerprint(b)
        reprint = exact or is_reprint(sa, sb) is not None
        same_outlet = a.source is not None and a.source == b.source
        add("marsad pairwise", row, reprint, reprint or story_similarity(sa, sb, same_outlet=same_outlet) is not None)
        add("naive", row, exact, exact or _title_overlap(a, b) >= 0.5)
        if stream:
            da, db = decisions.get(a.id), decisions.get(b.id)
            if da is None or db is None:
                add("marsad in stream", row, False, False)
            else:
                together = da.story_id == db.story_id
                add("marsad in stream", row, together and "duplicate" in (da.status + db.status), together)
    return report
